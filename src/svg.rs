//! Pictures for slides (`--svg PATH`), drawn with plotters' SVG backend: a run's per-core
//! timeline, and a sweep's chart.
//!
//! The timeline is binned: each core's time is cut into as many slices as the picture has
//! pixels across, each slice takes the colour of what filled most of it (a group's task bodies,
//! blocked, the scheduler, idle, a failed attempt), and equal neighbours merge into one
//! rectangle. So a picture of a million tasks is as small as one of a hundred. Equal neighbours
//! that are two attempts stay two bars, a pixel of white between them, so a viewer can count
//! the tasks; only attempts narrower than two slices, too fine to count anyway, share a bar.
//! Text is left to the viewer's fonts (plotters' SVG backend needs none of its own).

use std::io::Write;

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::plan::Plan;
use crate::record::{Kind, Outcome, Timeline};
use crate::report::{Attempt, Report, fmt_ns};
use crate::sweep::Point;

/// Width of every picture, px.
const WIDTH: u32 = 1600;
/// Left margin of the timeline's plot (labels), px; the plot is the rest.
const LABELS: u32 = 170;
/// Rectangles a timeline may hold before its columns get coarser (a few hundred KB).
const MAX_SHAPES: usize = 3_000;
/// The coarsest a timeline gets: columns across.
const MIN_COLUMNS: usize = 100;
/// Colours of the groups, in plan order (repeating): Tableau 10.
const GROUP_COLOURS: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(89, 161, 79),
    RGBColor(176, 122, 161),
    RGBColor(237, 201, 72),
    RGBColor(118, 183, 178),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
    RGBColor(225, 87, 89),
];
const OVERHEAD: RGBColor = RGBColor(60, 60, 60);
const IDLE: RGBColor = RGBColor(235, 235, 235);
const BLOCKED: RGBColor = RGBColor(190, 210, 230);
const FAILED: RGBColor = RGBColor(200, 0, 0);

/// What fills a slice of a core's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Task(u16),
    Blocked,
    Failed,
    Overhead,
    Idle,
}

impl State {
    fn colour(self) -> RGBColor {
        match self {
            State::Task(g) => GROUP_COLOURS[usize::from(g) % GROUP_COLOURS.len()],
            State::Blocked => BLOCKED,
            State::Failed => FAILED,
            State::Overhead => OVERHEAD,
            State::Idle => IDLE,
        }
    }

    /// Index into a slice's tally: the fixed states first, then the groups.
    fn slot(self) -> usize {
        match self {
            State::Idle => 0,
            State::Overhead => 1,
            State::Blocked => 2,
            State::Failed => 3,
            State::Task(g) => 4 + usize::from(g),
        }
    }

    fn of_slot(slot: usize) -> State {
        match slot {
            0 => State::Idle,
            1 => State::Overhead,
            2 => State::Blocked,
            3 => State::Failed,
            g => State::Task((g - 4) as u16),
        }
    }
}

/// One worker's time as runs of states: `(from column, to column, state)`, equal neighbours
/// merged, except where a new attempt starts after one at least two columns wide: there a new
/// run begins, in the same state when the column is the new attempt's, so each attempt wide
/// enough to see is a run of its own.
fn binned(
    events: &[crate::record::Event],
    plan: &Plan,
    end_ns: u64,
    columns: usize,
) -> Vec<(usize, usize, State)> {
    let slots = 4 + plan.groups.len();
    let mut tally = vec![0u64; columns * slots];
    let per = end_ns.div_ceil(columns as u64).max(1);
    let column = |t: u64| ((t.min(end_ns) / per) as usize).min(columns - 1);
    // The columns where a run must not continue the one before: an attempt starts there.
    let mut splits = vec![false; columns];
    let mut last_start: Option<usize> = None;
    let mut add = |from: u64, to: u64, state: State| {
        let (from, to) = (from.min(end_ns), to.min(end_ns));
        let mut t = from;
        while t < to {
            let c = (t / per) as usize;
            let edge = ((c as u64 + 1) * per).min(to);
            tally[c.min(columns - 1) * slots + state.slot()] += edge - t;
            t = edge;
        }
    };
    // Before its first event a worker was starting: idle.
    if let Some(first) = events.first() {
        add(0, first.t, State::Idle);
    }
    let mut i = 0;
    while i < events.len() {
        let e = events[i];
        let next = |k: usize| events.get(k + 1).map_or(end_ns.max(events[k].t), |n| n.t);
        match e.kind {
            Kind::Run => {
                let start = column(e.t);
                // Attempts narrower than two columns would make a bar per column (or none
                // visible after its gap): they share a run with their neighbours instead.
                if last_start.is_some_and(|last| last + 2 <= start) {
                    splits[start] = true;
                }
                last_start = Some(start);
                let mut j = i;
                while events.get(j + 1).is_some_and(|n| n.kind.is_inside_task()) {
                    j += 1;
                }
                let failed = events.get(j + 1).is_some_and(|n| {
                    matches!(Outcome::from_aux(n.aux), Outcome::Retry | Outcome::Failed)
                });
                let group = plan.locate(e.task).0 as u16;
                for (k, part) in events.iter().enumerate().take(j + 1).skip(i) {
                    let state = match (failed, part.kind) {
                        (true, _) => State::Failed,
                        (_, Kind::Block) => State::Blocked,
                        _ => State::Task(group),
                    };
                    add(part.t, next(k), state);
                }
                i = j + 1;
            }
            Kind::Exit => {
                add(e.t, end_ns, State::Idle);
                i += 1;
            }
            Kind::Idle | Kind::Park => {
                add(e.t, next(i), State::Idle);
                i += 1;
            }
            _ => {
                add(e.t, next(i), State::Overhead);
                i += 1;
            }
        }
    }
    let mut runs: Vec<(usize, usize, State)> = Vec::new();
    for c in 0..columns {
        let row = &tally[c * slots..(c + 1) * slots];
        let (slot, &ns) = row
            .iter()
            .enumerate()
            .max_by_key(|(_, ns)| **ns)
            .expect("at least the fixed states");
        let state = if ns == 0 {
            State::Idle
        } else {
            State::of_slot(slot)
        };
        match runs.last_mut() {
            Some(last) if last.2 == state && last.1 == c && !(splits[c] && c - last.0 >= 2) => {
                last.1 = c + 1;
            }
            _ => runs.push((c, c + 1, state)),
        }
    }
    runs
}

/// A plotters error, with what was being drawn.
fn drawing<E: std::fmt::Debug>(what: &'static str) -> impl FnOnce(E) -> anyhow::Error {
    move |e| anyhow::anyhow!("cannot draw the {what}: {e:?}")
}

/// The per-core timeline of a recorded run: one row per core (`core N`, with its speed when
/// emulated), task bodies coloured by group, blocked, scheduler and idle time, failed attempts,
/// a time axis, a legend, and the critical path: its attempts outlined and, with `bound_ns`,
/// a dashed line where it ends (no schedule can finish before).
pub fn write_timeline(
    out: &mut dyn Write,
    plan: &Plan,
    report: &Report,
    timeline: &Timeline,
    critical: &[Attempt],
    bound_ns: Option<u64>,
) -> Result<()> {
    let workers = timeline.workers.len().max(1);
    let row = (640 / workers as u32).clamp(12, 40);
    let legend_h = 70;
    let height = 90 + row * workers as u32 + 60 + legend_h;
    let end_ns = report.makespan_ns.max(1);
    // A column per pixel; but a run whose state changes at every pixel of every core would
    // make a picture of megabytes, so coarser columns until the rectangles stay few.
    let mut columns = (WIDTH - LABELS - 30) as usize;
    let mut rows: Vec<Vec<(usize, usize, State)>>;
    loop {
        rows = timeline
            .workers
            .iter()
            .map(|events| binned(events, plan, end_ns, columns))
            .collect();
        if rows.iter().map(Vec::len).sum::<usize>() <= MAX_SHAPES || columns <= MIN_COLUMNS {
            break;
        }
        columns = (columns / 2).max(MIN_COLUMNS);
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing("background"))?;
        let (top, legend) = root.split_vertically(height - legend_h);
        let title = format!(
            "{}{} under {}: {} workers, makespan {}",
            if report.is_simulated() {
                "SIMULATED: "
            } else {
                ""
            },
            report.workload,
            report.policy,
            timeline.workers.len(),
            fmt_ns(report.makespan_ns)
        );
        let mut chart = ChartBuilder::on(&top)
            .caption(title, ("sans-serif", 26))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(LABELS - 12)
            // A segmented range holds both ends: 0..workers - 1 is one segment per core.
            .build_cartesian_2d(0f64..end_ns as f64 / 1e6, (0..workers - 1).into_segmented())
            .map_err(drawing("timeline"))?;
        let speeds: Vec<f64> = report.workers.iter().map(|w| w.speed).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("time (ms)")
            .x_label_formatter(&|ms| format!("{ms}"))
            .y_labels(workers)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(w) => match speeds.get(*w) {
                    Some(s) if *s < 1.0 => format!("core {w} (speed {s})"),
                    _ => format!("core {w}"),
                },
                _ => String::new(),
            })
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(drawing("axes"))?;
        let ms = |column: usize| (column as u64 * end_ns).div_ceil(columns as u64) as f64 / 1e6;
        for (w, runs) in rows.into_iter().enumerate() {
            chart
                .draw_series(runs.iter().enumerate().map(|(k, &(from, to, state))| {
                    let mut bar = Rectangle::new(
                        [
                            (ms(from), SegmentValue::Exact(w)),
                            (ms(to), SegmentValue::Exact(w + 1)),
                        ],
                        state.colour().filled(),
                    );
                    // A run followed by one in the same state is one attempt followed by
                    // another (see `binned`): it ends a pixel early, and the white between
                    // tells the two apart.
                    if runs.get(k + 1).is_some_and(|next| next.2 == state) {
                        bar.set_margin(0, 0, 0, 1);
                    }
                    bar
                }))
                .map_err(drawing("core rows"))?;
        }
        let ns = |t: u64| t as f64 / 1e6;
        // Outlines as closed paths: the SVG backend gives paths a stroke width, not rectangles.
        chart
            .draw_series(critical.iter().map(|a| {
                let (x0, x1) = (ns(a.start_ns), ns(a.end_ns));
                let (y0, y1) = (
                    SegmentValue::Exact(a.worker),
                    SegmentValue::Exact(a.worker + 1),
                );
                PathElement::new(
                    vec![
                        (x0, y0.clone()),
                        (x1, y0.clone()),
                        (x1, y1.clone()),
                        (x0, y1),
                        (x0, y0),
                    ],
                    BLACK.stroke_width(3),
                )
            }))
            .map_err(drawing("critical path"))?;
        if let Some(bound) = bound_ns.filter(|b| *b > 0 && *b <= end_ns) {
            chart
                .draw_series(DashedLineSeries::new(
                    [
                        (ns(bound), SegmentValue::Exact(0)),
                        (ns(bound), SegmentValue::Exact(workers)),
                    ],
                    8,
                    5,
                    BLACK.stroke_width(2),
                ))
                .map_err(drawing("critical-path bound"))?;
            let (x, y) = chart.backend_coord(&(ns(bound), SegmentValue::Exact(workers)));
            let label = format!("critical-path bound {}", fmt_ns(bound));
            // Right of the line, or left of it when the line is near the right edge.
            let width = 8 * label.chars().count() as i32;
            let x = if x + 6 + width < WIDTH as i32 - 10 {
                x + 6
            } else {
                x - 6 - width
            };
            // Inside the plot's top edge, on a white ground so the bars do not hide it.
            top.draw(&Rectangle::new(
                [(x - 2, y + 2), (x + width, y + 20)],
                WHITE.mix(0.85).filled(),
            ))
            .map_err(drawing("critical-path bound"))?;
            top.draw(&Text::new(label, (x, y + 4), ("sans-serif", 15)))
                .map_err(drawing("critical-path bound"))?;
        }
        draw_legend(&legend, plan, bound_ns.is_some())?;
        root.present().map_err(drawing("picture"))?;
    }
    out.write_all(svg.as_bytes())
        .context("cannot write the picture")
}

/// The timeline's legend: each group's colour, then the states.
fn draw_legend(area: &DrawingArea<SVGBackend, Shift>, plan: &Plan, bound: bool) -> Result<()> {
    let mut entries: Vec<(String, ShapeStyle)> = plan
        .groups
        .iter()
        .enumerate()
        .map(|(g, group)| (group.name.clone(), State::Task(g as u16).colour().filled()))
        .collect();
    entries.extend([
        ("blocked (sleep, I/O)".to_string(), BLOCKED.filled()),
        ("failed attempt".to_string(), FAILED.filled()),
        ("scheduler".to_string(), OVERHEAD.filled()),
        ("idle".to_string(), IDLE.filled()),
    ]);
    let (mut x, mut y) = (LABELS as i32, 10);
    let mut place = |name: &str| {
        let width = 40 + 8 * name.chars().count() as i32;
        if x + width > WIDTH as i32 - 20 {
            x = LABELS as i32;
            y += 26;
        }
        let at = (x, y);
        x += width;
        at
    };
    for (name, style) in entries {
        let (x, y) = place(&name);
        area.draw(&Rectangle::new([(x, y), (x + 18, y + 14)], style))
            .map_err(drawing("legend"))?;
        area.draw(&Text::new(name, (x + 24, y), ("sans-serif", 15)))
            .map_err(drawing("legend"))?;
    }
    let (cx, cy) = place("critical path");
    area.draw(&PathElement::new(
        vec![
            (cx, cy),
            (cx + 18, cy),
            (cx + 18, cy + 14),
            (cx, cy + 14),
            (cx, cy),
        ],
        BLACK.stroke_width(3),
    ))
    .map_err(drawing("legend"))?;
    area.draw(&Text::new(
        "critical path",
        (cx + 24, cy),
        ("sans-serif", 15),
    ))
    .map_err(drawing("legend"))?;
    if bound {
        let name = "critical-path bound";
        let (x, y) = place(name);
        for dash in [(y - 1, y + 5), (y + 9, y + 15)] {
            area.draw(&PathElement::new(
                vec![(x + 9, dash.0), (x + 9, dash.1)],
                BLACK.stroke_width(2),
            ))
            .map_err(drawing("legend"))?;
        }
        area.draw(&Text::new(name, (x + 24, y), ("sans-serif", 15)))
            .map_err(drawing("legend"))?;
    }
    Ok(())
}

/// A sweep's chart. Granularity: efficiency and the scheduler's share against task size, on
/// a log axis, a line per policy. Scaling: speedup against workers (log₂) beside the ideal,
/// a label at each worker count measured. Each policy's points have a shape of their own as
/// well as a colour (see [`marker`]), and the legend shows both beside the policy's name.
pub fn write_sweep(out: &mut dyn Write, points: &[Point], scaling: bool) -> Result<()> {
    let mut policies: Vec<&str> = Vec::new();
    for p in points {
        if !policies.contains(&p.policy.as_str()) {
            policies.push(&p.policy);
        }
    }
    let height = if scaling { 700 } else { 1100 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing("background"))?;
        if scaling {
            scaling_chart(&root, points, &policies)?;
        } else {
            let (upper, lower) = root.split_vertically(height / 2);
            size_chart(
                &upper,
                points,
                &policies,
                "Efficiency: the workers' time inside tasks",
                "efficiency (%)",
                |p| p.efficiency * 100.0,
            )?;
            size_chart(
                &lower,
                points,
                &policies,
                "The scheduler's time over the tasks' time",
                "scheduler share (%)",
                |p| p.overhead_share * 100.0,
            )?;
        }
        root.present().map_err(drawing("picture"))?;
    }
    out.write_all(svg.as_bytes())
        .context("cannot write the picture")
}

fn policy_colour(i: usize) -> RGBColor {
    GROUP_COLOURS[i % GROUP_COLOURS.len()]
}

/// One panel of a granularity sweep: `y` against task size (µs, log axis).
fn size_chart(
    area: &DrawingArea<SVGBackend, Shift>,
    points: &[Point],
    policies: &[&str],
    title: &str,
    y_desc: &str,
    y: fn(&Point) -> f64,
) -> Result<()> {
    let us = |p: &Point| p.size_ns as f64 / 1e3;
    let (lo, hi) = points
        .iter()
        .map(us)
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (lo, hi) = if lo > hi {
        (0.1, 1e5)
    } else {
        (lo / 1.5, hi * 1.5)
    };
    let top = points.iter().map(y).fold(1.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..top)
        .map_err(drawing("sweep"))?;
    chart
        .configure_mesh()
        .x_desc("task size (log scale)")
        .y_desc(y_desc)
        // Rounded: a key point a hair under 1 µs is the 1 µs label's, not `999 ns`.
        .x_label_formatter(&|v| fmt_ns((*v * 1e3).round() as u64))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(drawing("sweep axes"))?;
    policy_lines(
        &mut chart,
        points,
        policies,
        us,
        y,
        SeriesLabelPosition::UpperRight,
    )
}

/// A scaling sweep: speedup against workers, log₂, with the ideal line.
fn scaling_chart(
    area: &DrawingArea<SVGBackend, Shift>,
    points: &[Point],
    policies: &[&str],
) -> Result<()> {
    let max_workers = points.iter().map(|p| p.workers).max().unwrap_or(2).max(2) as f64;
    let top = points.iter().map(|p| p.speedup).fold(max_workers, f64::max) * 1.1;
    // The worker counts measured, and the one worker of the baseline.
    let mut counts: Vec<usize> = points.iter().map(|p| p.workers).collect();
    counts.push(1);
    counts.sort_unstable();
    counts.dedup();
    let counts: Vec<f64> = counts.into_iter().map(|n| n as f64).collect();
    // Labels at the counts themselves: plotters' own key points on a short log axis fall
    // between whole counts, where a rounded label would name a count it is not at.
    let x = (1f64..max_workers * 1.2)
        .log_scale()
        .base(2.0)
        .with_key_points(counts.clone());
    let mut chart = ChartBuilder::on(area)
        .caption("Speedup over one worker", ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x, 0f64..top)
        .map_err(drawing("scaling"))?;
    chart
        .configure_mesh()
        .x_desc("workers (log scale)")
        .y_desc("speedup")
        .x_label_formatter(&|v| format!("{v}"))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(drawing("scaling axes"))?;
    chart
        // y = x at each worker count measured (the axis is logarithmic, so the ideal is
        // drawn through the same points as the policies).
        .draw_series(DashedLineSeries::new(
            counts.iter().map(|&n| (n, n)).collect::<Vec<_>>(),
            8,
            5,
            BLACK.stroke_width(1),
        ))
        .map_err(drawing("ideal line"))?
        .label("ideal")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(1)));
    // The most speedup any schedule could reach at each count (work over the workers, or the
    // critical path), where the points say.
    let mut bound: Vec<(f64, f64)> = Vec::new();
    for p in points.iter().filter(|p| p.bound_speedup > 0.0) {
        let n = p.workers as f64;
        match bound.iter_mut().find(|(m, _)| *m == n) {
            Some((_, b)) => *b = b.max(p.bound_speedup),
            None => bound.push((n, p.bound_speedup)),
        }
    }
    bound.sort_by(|a, b| a.0.total_cmp(&b.0));
    if !bound.is_empty() {
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(DashedLineSeries::new(bound, 3, 4, grey.stroke_width(2)))
            .map_err(drawing("bound line"))?
            .label("bound (work / workers, or the critical path)")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], grey.stroke_width(2))
            });
    }
    policy_lines(
        &mut chart,
        points,
        policies,
        |p| p.workers as f64,
        |p| p.speedup,
        SeriesLabelPosition::UpperLeft,
    )
}

/// The outline of the `i`th policy's points, px around the point: a circle (as a 16-gon), a
/// square, a triangle, a diamond, in turn, so the lines tell apart without their colours too.
/// One kind of shape (a polygon) for all, so each policy's points are the same type of element.
fn marker(i: usize) -> Vec<(i32, i32)> {
    let circle = || {
        (0..16)
            .map(|k| {
                let a = f64::from(k) * std::f64::consts::TAU / 16.0;
                (
                    (6.0 * a.cos()).round() as i32,
                    (6.0 * a.sin()).round() as i32,
                )
            })
            .collect()
    };
    match i % 4 {
        0 => circle(),
        1 => vec![(-5, -5), (5, -5), (5, 5), (-5, 5)],
        2 => vec![(0, -7), (7, 5), (-7, 5)],
        _ => vec![(0, -7), (7, 0), (0, 7), (-7, 0)],
    }
}

/// A line per policy, `y` against `x`, its points drawn with the policy's [`marker`], and the
/// legend (each policy's line and marker, then its name) at `legend`.
fn policy_lines<'a, X: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, RangedCoordf64>>,
    points: &[Point],
    policies: &[&str],
    x: fn(&Point) -> f64,
    y: fn(&Point) -> f64,
    legend: SeriesLabelPosition,
) -> Result<()> {
    for (i, policy) in policies.iter().enumerate() {
        let colour = policy_colour(i);
        let series: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.policy == *policy)
            .map(|p| (x(p), y(p)))
            .collect();
        chart
            .draw_series(LineSeries::new(series.clone(), colour.stroke_width(3)))
            .map_err(drawing("a policy's line"))?
            .label(*policy)
            .legend(move |(x, y)| {
                let shape: Vec<(i32, i32)> = marker(i)
                    .into_iter()
                    .map(|(dx, dy)| (12 + dx, dy))
                    .collect();
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (24, 0)], colour.stroke_width(3))
                    + Polygon::new(shape, colour.filled())
            });
        chart
            .draw_series(
                series
                    .into_iter()
                    .map(|at| EmptyElement::at(at) + Polygon::new(marker(i), colour.filled())),
            )
            .map_err(drawing("a policy's points"))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .position(legend)
        .draw()
        .map_err(drawing("legend"))?;
    Ok(())
}

#[cfg(test)]
mod tests;
