//! The sweep's chart in the terminal (`schedlab sweep` on a terminal): points appear as they
//! are measured, on log axes. A granularity sweep plots efficiency and the scheduler's share
//! against task size (log₁₀); a scaling sweep plots speedup against workers (log₂) beside the
//! ideal line.

use std::io::{IsTerminal, stdout};
use std::time::Duration;

use anyhow::{Result, bail};
use crossbeam::channel::{self, Receiver};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Widget, Wrap};

use super::input::{Action, event_action};
use crate::sweep::Point;

/// Colours and (with `NO_COLOR`) markers of the policies' lines, in the order they first
/// appear.
const LINES: [(Color, Marker); 4] = [
    (Color::Cyan, Marker::Dot),
    (Color::Yellow, Marker::Braille),
    (Color::Green, Marker::Block),
    (Color::Magenta, Marker::Bar),
];

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

    /// The x axis: whole decades of size (or powers of two of workers) around the points,
    /// a label at each, so the labels sit exactly where their values are.
    fn x_axis(&self) -> Axis<'static> {
        if self.scaling {
            let max = self.points.iter().map(|p| p.workers).max().unwrap_or(2);
            let top = log_workers(max).ceil().max(1.0);
            let labels: Vec<Line> = (0..=top as u32)
                .map(|k| Line::from(format!("{}", 1u64 << k)))
                .collect();
            Axis::default()
                .title("workers (log₂)")
                .bounds([0.0, top])
                .labels(labels)
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
            let labels: Vec<Line> = (lo as i32..=hi as i32)
                .map(|k| Line::from(decade_label(k)))
                .collect();
            Axis::default()
                .title("task size (log₁₀)")
                .bounds([lo, hi])
                .labels(labels)
        }
    }

    fn chart<'a>(
        &self,
        title: &'a str,
        y_title: &'a str,
        series: &'a [(&'a str, Vec<(f64, f64)>)],
        extra: Option<Dataset<'a>>,
        top: f64,
    ) -> Chart<'a> {
        let mut datasets: Vec<Dataset> = series
            .iter()
            .enumerate()
            .map(|(i, (name, data))| {
                let (color, marker) = LINES[i % LINES.len()];
                // Thin braille lines in colour; without colour, the markers tell them apart.
                let (style, marker) = if self.no_color {
                    (Style::default(), marker)
                } else {
                    (Style::default().fg(color), Marker::Braille)
                };
                Dataset::default()
                    .name(*name)
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
            let ideal_line = Dataset::default()
                .name("ideal")
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(Color::DarkGray))
                .data(&ideal);
            self.chart(
                " speedup over 1 worker ",
                "speedup",
                &speedup,
                Some(ideal_line),
                top,
            )
            .render(charts, buf);
        } else {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(charts);
            let efficiency = self.series(|p| p.efficiency * 100.0);
            self.chart(
                " efficiency: workers' time inside tasks ",
                "%",
                &efficiency,
                None,
                100.0,
            )
            .render(left, buf);
            let overhead = self.series(|p| p.overhead_share * 100.0);
            let top = speedup_max(&overhead).max(1.0).ceil();
            self.chart(" scheduler time / task time ", "%", &overhead, None, top)
                .render(right, buf);
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
    crate::cli::TUI_ACTIVE.store(true, std::sync::atomic::Ordering::SeqCst);
    view.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (input_tx, mut input) = channel::unbounded();
    let _input = super::Input::spawn(input_tx, |event| event)?;
    let interrupt = crate::cli::interrupt_flag();
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
            text.contains("efficiency") && text.contains("scheduler time"),
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
