//! The sweep's chart in the terminal (`schedlab sweep` on a terminal): points appear as they
//! are measured, on log axes. A granularity sweep plots efficiency and the scheduler's share
//! against task size (log₁₀); a scaling sweep plots speedup against workers (log₂) beside the
//! ideal line.
//!
//! The x labels are written by [`SweepView`] itself, each at the column of its value: ratatui
//! spreads an axis's labels evenly (n labels at the middles of n equal parts), which on these
//! axes puts every label but the first and last beside its value. Without colour (`NO_COLOR`)
//! each policy's line is drawn with a glyph of its own, and the legend shows it before the name.

use std::io::{IsTerminal, stdout};
use std::time::Duration;

use anyhow::{Result, bail};
use crossbeam::channel::{self, Receiver};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::{self, Marker};
use ratatui::text::Line;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Widget, Wrap};

use super::input::{Action, event_action};
use crate::sweep::Point;

/// Colours of the policies' lines, in the order they first appear.
const COLOURS: [Color; 4] = [Color::Cyan, Color::Yellow, Color::Green, Color::Magenta];

/// Without colour, the glyph each policy's line is drawn with, in the order they first appear:
/// more than there are policies, so no two lines of a sweep share one.
const GLYPHS: [char; 8] = ['+', 'x', 'o', '*', '#', '%', '@', '='];

/// Without colour, the glyph of the ideal line of a scaling chart.
const IDEAL_GLYPH: char = '.';
/// Without colour, the glyph of the bound line of a scaling chart.
const BOUND_GLYPH: char = ':';

/// What the sweep thread tells the chart.
pub enum SweepMsg {
    /// What runs now.
    Running(String),
    /// A measured point.
    Point(Point),
    /// The sweep ended (with an error message if it failed).
    Done(Option<String>),
}

/// The chart's state.
#[derive(Debug, Default)]
pub struct SweepView {
    /// What is swept, for the title.
    pub title: String,
    /// A scaling sweep (else granularity).
    pub scaling: bool,
    /// Points measured so far.
    pub points: Vec<Point>,
    /// What runs now, or how it ended.
    pub status: String,
    /// Whether the sweep has ended.
    pub done: bool,
    /// Screen text without colour.
    pub no_color: bool,
}

/// log₁₀ of a task size, the x of a granularity chart.
fn log_size(ns: u64) -> f64 {
    (ns.max(1) as f64).log10()
}

/// A short label for 10^k ns: `1µs`, `100ms`, …
fn decade_label(k: i32) -> String {
    let (unit, base) = match k {
        ..=2 => ("ns", 0),
        3..=5 => ("µs", 3),
        6..=8 => ("ms", 6),
        _ => ("s", 9),
    };
    format!("{}{unit}", 10u64.pow((k - base).max(0) as u32))
}

/// log₂ of a worker count, the x of a scaling chart.
fn log_workers(n: usize) -> f64 {
    (n.max(1) as f64).log2()
}

impl SweepView {
    /// The policies in the order they first appear.
    fn policies(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.points {
            if !out.contains(&p.policy.as_str()) {
                out.push(&p.policy);
            }
        }
        out
    }

    /// Each policy's (x, y) series.
    fn series(&self, y: fn(&Point) -> f64) -> Vec<(&str, Vec<(f64, f64)>)> {
        self.policies()
            .into_iter()
            .map(|policy| {
                let data = self
                    .points
                    .iter()
                    .filter(|p| p.policy == policy)
                    .map(|p| {
                        let x = if self.scaling {
                            log_workers(p.workers)
                        } else {
                            log_size(p.size_ns)
                        };
                        (x, y(p))
                    })
                    .collect();
                (policy, data)
            })
            .collect()
    }

    /// The x axis's bounds and its labels, each with the value it stands for: whole decades of
    /// size (or powers of two of workers) around the points.
    fn x_ticks(&self) -> ([f64; 2], Vec<(f64, String)>) {
        if self.scaling {
            let max = self.points.iter().map(|p| p.workers).max().unwrap_or(2);
            let top = log_workers(max).ceil().max(1.0);
            let ticks = (0..=top as u32)
                .map(|k| (f64::from(k), format!("{}", 1u64 << k)))
                .collect();
            ([0.0, top], ticks)
        } else {
            let (lo, hi) = self
                .points
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), p| {
                    let x = log_size(p.size_ns);
                    (lo.min(x), hi.max(x))
                });
            let (lo, hi) = if lo > hi {
                (2.0, 8.0)
            } else {
                (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
            };
            let ticks = (lo as i32..=hi as i32)
                .map(|k| (f64::from(k), decade_label(k)))
                .collect();
            ([lo, hi], ticks)
        }
    }

    /// The x axis, its labels left blank: two empty ones keep ratatui's axis line and the row
    /// under it, where [`SweepView::draw_x_labels`] writes the real ones.
    fn x_axis(&self) -> Axis<'static> {
        let title = if self.scaling {
            "workers (log₂)"
        } else {
            "task size (log₁₀)"
        };
        Axis::default()
            .title(title)
            .bounds(self.x_ticks().0)
            .labels(["", ""])
    }

    /// Writes the x labels of a chart just drawn in `area` (a bordered block) on the row under
    /// its axis, each centred on the column of its value, or pulled inside the chart's edge
    /// yet still over that column; a label that would touch the one before is left out.
    ///
    /// The plot starts right of the axes' corner `└`, wherever ratatui put it (right of the
    /// widest y label), and its canvas puts a value at `round(fraction × (width − 1))` columns
    /// from there, `fraction` being how far along the bounds the value lies.
    fn draw_x_labels(&self, area: Rect, buf: &mut Buffer) {
        let inner = area.inner(Margin::new(1, 1));
        if inner.height < 3 {
            return;
        }
        let (axis_row, label_row) = (inner.bottom() - 2, inner.bottom() - 1);
        let Some(corner) = (inner.left()..inner.right())
            .find(|&x| buf[(x, axis_row)].symbol() == symbols::line::BOTTOM_LEFT)
        else {
            // Too small a chart for axes: ratatui drew none, so no labels either.
            return;
        };
        let (plot, width) = (corner + 1, inner.right().saturating_sub(corner + 1));
        if width < 2 {
            return;
        }
        let ([lo, hi], ticks) = self.x_ticks();
        // The first column the next label may take: one blank after the label before.
        let mut free = inner.left();
        for (value, label) in ticks {
            let fraction = (value - lo) / (hi - lo);
            let column = plot + (fraction * f64::from(width - 1)).round() as u16;
            let len = Line::raw(label.as_str()).width() as u16;
            let start = column
                .saturating_sub(len.saturating_sub(1) / 2)
                .min(inner.right().saturating_sub(len))
                .max(inner.left());
            if start < free {
                continue;
            }
            buf.set_string(start, label_row, &label, Style::default());
            free = start + len + 1;
        }
    }

    /// Draws `chart` in `area` with its x labels.
    fn render_chart(&self, chart: Chart, area: Rect, buf: &mut Buffer) {
        chart.render(area, buf);
        self.draw_x_labels(area, buf);
    }

    fn chart<'a>(
        &self,
        title: &'a str,
        y_title: &'a str,
        series: &'a [(&'a str, Vec<(f64, f64)>)],
        extra: Vec<Dataset<'a>>,
        top: f64,
    ) -> Chart<'a> {
        let mut datasets: Vec<Dataset> = series
            .iter()
            .enumerate()
            .map(|(i, (name, data))| {
                // Thin braille lines in colour; without colour, each line is drawn with its
                // glyph, and the legend shows the glyph before the policy's name.
                let (style, marker, name) = if self.no_color {
                    let glyph = GLYPHS[i % GLYPHS.len()];
                    (
                        Style::default(),
                        Marker::Custom(glyph),
                        Line::from(format!("{glyph} {name}")),
                    )
                } else {
                    let colour = COLOURS[i % COLOURS.len()];
                    (
                        Style::default().fg(colour),
                        Marker::Braille,
                        Line::from(*name),
                    )
                };
                Dataset::default()
                    .name(name)
                    .marker(marker)
                    .graph_type(GraphType::Line)
                    .style(style)
                    .data(data)
            })
            .collect();
        datasets.extend(extra);
        let labels: Vec<Line> = [0.0, top / 2.0, top]
            .iter()
            .map(|v| Line::from(format!("{v:.0}")))
            .collect();
        Chart::new(datasets)
            .block(Block::bordered().title(title))
            .x_axis(self.x_axis())
            .y_axis(
                Axis::default()
                    .title(y_title)
                    .bounds([0.0, top])
                    .labels(labels),
            )
            .legend_position(Some(ratatui::widgets::LegendPosition::TopRight))
            .hidden_legend_constraints((Constraint::Percentage(40), Constraint::Percentage(40)))
    }
}

impl Widget for &SweepView {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let [header, charts, status] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(8),
            Constraint::Length(2),
        ])
        .areas(area);
        let bold = if self.no_color {
            Style::default()
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        Paragraph::new(vec![
            Line::styled(format!(" schedlab sweep │ {}", self.title), bold),
            Line::from(format!(
                " {} points measured{}",
                self.points.len(),
                if self.done { "" } else { " so far" }
            )),
        ])
        .render(header, buf);
        if self.scaling {
            let speedup = self.series(|p| p.speedup);
            let max = self.points.iter().map(|p| p.workers).max().unwrap_or(2);
            let top = (max as f64).max(speedup_max(&speedup)).ceil();
            let ideal: Vec<(f64, f64)> = (0..=log_workers(max).ceil() as u32)
                .map(|k| (f64::from(k), f64::from(1u32 << k)))
                .collect();
            let ideal_line = if self.no_color {
                Dataset::default()
                    .name(format!("{IDEAL_GLYPH} ideal"))
                    .marker(Marker::Custom(IDEAL_GLYPH))
            } else {
                Dataset::default()
                    .name("ideal")
                    .marker(Marker::Dot)
                    .style(Style::default().fg(Color::DarkGray))
            }
            .graph_type(GraphType::Line)
            .data(&ideal);
            // The most speedup any schedule could reach at each worker count (work over the
            // workers, or the critical path), where the points say.
            let bound = bound_points(&self.points);
            let mut extra = vec![ideal_line];
            if !bound.is_empty() {
                extra.push(
                    if self.no_color {
                        Dataset::default()
                            .name(format!("{BOUND_GLYPH} bound"))
                            .marker(Marker::Custom(BOUND_GLYPH))
                    } else {
                        Dataset::default()
                            .name("bound")
                            .marker(Marker::Dot)
                            .style(Style::default().fg(Color::Gray))
                    }
                    .graph_type(GraphType::Line)
                    .data(&bound),
                );
            }
            let chart = self.chart(" speedup over 1 worker ", "speedup", &speedup, extra, top);
            self.render_chart(chart, charts, buf);
        } else {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(charts);
            let efficiency = self.series(|p| p.efficiency * 100.0);
            let chart = self.chart(
                " efficiency: workers' time inside tasks ",
                "%",
                &efficiency,
                Vec::new(),
                100.0,
            );
            self.render_chart(chart, left, buf);
            let overhead = self.series(|p| p.overhead_share * 100.0);
            let top = speedup_max(&overhead).max(1.0).ceil();
            let chart = self.chart(" scheduler / work ", "%", &overhead, Vec::new(), top);
            self.render_chart(chart, right, buf);
        }
        let keys = if self.done {
            "q: leave and print the table"
        } else {
            "q: stop here and print the points so far"
        };
        Paragraph::new(vec![
            Line::from(format!(" {}", self.status)),
            Line::from(format!(" {keys}")),
        ])
        .wrap(Wrap { trim: true })
        .render(status, buf);
    }
}

fn speedup_max(series: &[(&str, Vec<(f64, f64)>)]) -> f64 {
    series
        .iter()
        .flat_map(|(_, d)| d.iter().map(|p| p.1))
        .fold(0.0, f64::max)
}

/// Shows the chart while a sweep runs and sends to `rx`; returns the points and whether the
/// user left before the sweep ended.
pub fn run(mut view: SweepView, mut rx: Receiver<SweepMsg>) -> Result<(Vec<Point>, bool)> {
    if !stdout().is_terminal() {
        bail!("the sweep chart needs a terminal on stdout");
    }
    let mut terminal = ratatui::init();
    let _guard = super::Guard;
    crate::terminal::TUI_ACTIVE.store(true, std::sync::atomic::Ordering::SeqCst);
    view.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (input_tx, mut input) = channel::unbounded();
    let _input = super::Input::spawn(input_tx, |event| event)?;
    let interrupt = crate::terminal::interrupt_flag();
    let stopped = loop {
        terminal.draw(|frame| frame.render_widget(&view, frame.area()))?;
        channel::select! {
            recv(rx) -> msg => match msg {
                Ok(SweepMsg::Running(line)) => view.status = line,
                Ok(SweepMsg::Point(p)) => view.points.push(p),
                Ok(SweepMsg::Done(error)) => {
                    view.done = true;
                    view.status = error.unwrap_or_else(|| "done".to_string());
                }
                // The sweep thread is gone: nothing more will come.
                Err(_) => {
                    view.done = true;
                    rx = channel::never();
                }
            },
            recv(input) -> event => {
                if event.is_err() {
                    input = channel::never();
                }
                let action = event.ok().as_ref().and_then(event_action);
                if matches!(action, Some(Action::Quit | Action::Interrupt)) {
                    break !view.done;
                }
            },
            default(Duration::from_millis(200)) => {}
        }
        if interrupt.load(std::sync::atomic::Ordering::SeqCst) {
            break !view.done;
        }
    };
    Ok((view.points, stopped))
}

/// The bound line of a scaling chart: at each worker count measured (log₂), the highest
/// `bound_speedup` of its points; empty when no point has one.
fn bound_points(points: &[Point]) -> Vec<(f64, f64)> {
    let mut bound: Vec<(usize, f64)> = Vec::new();
    for p in points.iter().filter(|p| p.bound_speedup > 0.0) {
        match bound.iter_mut().find(|(n, _)| *n == p.workers) {
            Some((_, b)) => *b = b.max(p.bound_speedup),
            None => bound.push((p.workers, p.bound_speedup)),
        }
    }
    bound.sort_by_key(|(n, _)| *n);
    bound
        .into_iter()
        .map(|(n, b)| (log_workers(n), b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn point(policy: &str, size_ns: u64, workers: usize, efficiency: f64) -> Point {
        Point {
            policy: policy.into(),
            size_ns,
            workers,
            tasks: 100,
            makespan_ns: 1_000_000,
            speedup: efficiency * workers as f64,
            efficiency,
            overhead_share: (1.0 - efficiency) / 2.0,
            idle_share: (1.0 - efficiency) / 2.0,
            bound_speedup: 0.0,
        }
    }

    fn text(view: &SweepView) -> String {
        let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
        terminal.draw(|f| f.render_widget(view, f.area())).unwrap();
        let buf = terminal.backend().buffer();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn granularity_chart_has_log_size_labels_and_a_line_per_policy() {
        let mut view = SweepView {
            title: "granularity".into(),
            ..SweepView::default()
        };
        for (size, e) in [(500, 0.7), (5_000, 0.95), (50_000, 0.99), (5_000_000, 0.6)] {
            view.points.push(point("fifo", size, 2, e));
            view.points.push(point("steal", size, 2, e + 0.01));
        }
        let text = text(&view);
        // Decades from 100 ns to 10 ms, each labelled.
        for label in ["100ns", "1µs", "10µs", "100µs", "1ms", "10ms"] {
            assert!(text.contains(label), "{label} on the axis:\n{text}");
        }
        assert!(text.contains("fifo") && text.contains("steal"), "{text}");
        assert!(
            text.contains("efficiency") && text.contains("scheduler / work"),
            "{text}"
        );
        assert!(text.contains("8 points measured so far"), "{text}");
    }

    #[test]
    fn log_axes_put_each_point_at_its_decade() {
        assert_eq!(log_size(1_000), 3.0);
        assert_eq!(log_size(100_000), 5.0);
        assert_eq!(log_workers(8), 3.0);
        let view = SweepView {
            points: vec![point("steal", 700, 1, 0.5), point("steal", 20_000, 1, 0.9)],
            ..SweepView::default()
        };
        let series = view.series(|p| p.efficiency);
        assert_eq!(series.len(), 1);
        assert!((series[0].1[1].0 - 20_000f64.log10()).abs() < 1e-12);
    }

    /// Asserts that each `(glyph, label)` of `view`'s leftmost chart (columns below `right`)
    /// has the label on the row under the axis, over the column where the glyph's only point
    /// is drawn; `centred` labels (those not at an end) centred on it.
    fn labels_sit_over_their_points(view: &SweepView, right: usize, marks: &[(char, &str, bool)]) {
        let text = text(view);
        let rows: Vec<Vec<char>> = text
            .lines()
            .map(|l| l.chars().take(right).collect())
            .collect();
        // The axes' corner: the lowest `└` but the block's own, at the left edge (the
        // legend's box has one too, higher up).
        let axis = rows
            .iter()
            .rposition(|r| r.iter().skip(1).any(|c| *c == '└'))
            .unwrap_or_else(|| panic!("an x axis:\n{text}"));
        let labels = &rows[axis + 1];
        for &(glyph, label, centred) in marks {
            // The points lie low in the plot, below the legend.
            let column = (axis.saturating_sub(8)..axis)
                .find_map(|y| rows[y].iter().position(|c| *c == glyph))
                .unwrap_or_else(|| panic!("{glyph} plotted:\n{text}"));
            // The label as a word of its own: `1` is not the `1` of `10µs`.
            let word: Vec<char> = label.chars().collect();
            let len = word.len();
            let apart = |c: Option<&char>| c.is_none_or(|c| *c == ' ' || *c == '│');
            let start = (0..=labels.len().saturating_sub(len))
                .find(|&x| {
                    labels[x..x + len] == word[..]
                        && apart(x.checked_sub(1).and_then(|b| labels.get(b)))
                        && apart(labels.get(x + len))
                })
                .unwrap_or_else(|| panic!("{label} under the axis:\n{text}"));
            assert!(
                (start..start + len).contains(&column),
                "{label} at columns {start}..{} is over its point at {column}:\n{text}",
                start + len
            );
            if centred {
                assert_eq!(
                    start + (len - 1) / 2,
                    column,
                    "{label} is centred on its point:\n{text}"
                );
            }
        }
    }

    #[test]
    fn size_labels_sit_at_the_columns_of_their_sizes() {
        let mut view = SweepView {
            no_color: true,
            ..SweepView::default()
        };
        // A point per policy, each alone at a decade from 1 µs to 1 ms.
        for (policy, size) in [
            ("fifo", 1_000),
            ("rr", 10_000),
            ("steal", 100_000),
            ("hetero", 1_000_000),
        ] {
            view.points.push(point(policy, size, 2, 0.2));
        }
        labels_sit_over_their_points(
            &view,
            60,
            &[
                ('+', "1µs", false),
                ('x', "10µs", true),
                ('o', "100µs", true),
                ('*', "1ms", false),
            ],
        );
    }

    #[test]
    fn worker_labels_sit_at_the_columns_of_their_counts() {
        let mut view = SweepView {
            scaling: true,
            no_color: true,
            ..SweepView::default()
        };
        for (policy, workers) in [("fifo", 1), ("rr", 2), ("steal", 4), ("hetero", 8)] {
            let mut p = point(policy, 100_000, workers, 0.0);
            // Below the ideal line, which would draw over the points.
            p.speedup = 0.2;
            view.points.push(p);
        }
        labels_sit_over_their_points(
            &view,
            120,
            &[
                ('+', "1", false),
                ('x', "2", true),
                ('o', "4", true),
                ('*', "8", false),
            ],
        );
    }

    #[test]
    fn without_colour_the_legend_shows_each_policys_glyph() {
        let glyphs: std::collections::HashSet<char> =
            GLYPHS.iter().copied().chain([IDEAL_GLYPH]).collect();
        assert_eq!(glyphs.len(), GLYPHS.len() + 1, "no two lines share a glyph");
        assert!(
            GLYPHS.len() >= schedlab_policies::ALL.len(),
            "a glyph for every policy a sweep can run"
        );
        let mut view = SweepView {
            no_color: true,
            ..SweepView::default()
        };
        for size in [1_000, 10_000] {
            view.points.push(point("fifo", size, 2, 0.1));
            view.points.push(point("steal", size, 2, 0.2));
        }
        let plain = text(&view);
        for entry in ["+ fifo", "x steal"] {
            assert!(plain.contains(entry), "{entry} in the legend:\n{plain}");
        }
        assert!(plain.contains('+') && plain.contains('x'), "{plain}");
        view.scaling = true;
        assert!(text(&view).contains(". ideal"), "{}", text(&view));
        // In colour the colours tell the lines apart: the legend is the names alone.
        view.no_color = false;
        view.scaling = false;
        let coloured = text(&view);
        assert!(
            coloured.contains("fifo") && !coloured.contains("+ fifo"),
            "{coloured}"
        );
    }

    #[test]
    fn scaling_chart_shows_the_ideal_line_and_worker_counts() {
        let mut view = SweepView {
            title: "scaling".into(),
            scaling: true,
            done: true,
            ..SweepView::default()
        };
        for n in [1, 2, 4, 8] {
            view.points.push(point("steal", 100_000, n, 0.9));
        }
        let text = text(&view);
        assert!(text.contains("ideal") && text.contains("speedup"), "{text}");
        assert!(text.contains("workers (log₂)"), "{text}");
        assert!(text.contains("q: leave and print the table"), "{text}");
    }
}
