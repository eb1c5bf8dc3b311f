//! Drawing: `impl Widget for &App`. Reads the state, never changes it, so a recorded run
//! renders the same on screen and in tests.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Sparkline, Widget, Wrap};

use super::app::{App, Overlay, RunView};
use super::lanes::{Cell, Lane, LaneTotals};
use crate::report::fmt_ns;
use crate::times::Times;

/// The smallest screen the layout fits.
pub const MIN_WIDTH: u16 = 80;
/// The smallest screen the layout fits.
pub const MIN_HEIGHT: u16 = 24;

const GROUP_COLORS: [Color; 8] = [
    Color::Cyan,
    Color::Green,
    Color::Blue,
    Color::Magenta,
    Color::LightCyan,
    Color::LightGreen,
    Color::LightBlue,
    Color::LightMagenta,
];
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Without colour, a task body shows its group by glyph (at a cell at least half busy; a
/// lighter one shows its share by height as with colour).
const GROUP_GLYPHS: [char; 8] = ['█', '▓', '▒', '#', '%', '@', '&', '='];
const IDLE: char = '·';
const OVERHEAD: char = '░';
const BLOCKED: char = '─';
const FAILED: char = '✗';
const STEAL: char = '↯';
const LABEL: usize = 10;
const STATS: usize = 32;

impl App {
    fn style(&self, style: Style) -> Style {
        if self.no_color {
            Style::default()
        } else {
            style
        }
    }

    fn group_style(&self, group: u16) -> Style {
        self.style(Style::default().fg(GROUP_COLORS[group as usize % GROUP_COLORS.len()]))
    }

    /// The glyph that names `group` in legends: a coloured block, or without colour one
    /// glyph per group.
    fn group_glyph(&self, group: u16) -> char {
        if self.no_color {
            GROUP_GLYPHS[group as usize % GROUP_GLYPHS.len()]
        } else {
            '█'
        }
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let text = format!(
                "The terminal is too small: {}×{}. schedlab needs at least {MIN_WIDTH}×{MIN_HEIGHT}.\nEnlarge the window, or press q to quit.",
                area.width, area.height
            );
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .render(area, buf);
            return;
        }
        // The timeline first: every core's row when they fit (at least four), with its header,
        // axis, legend and border; then the panels (9 lines, down to 6), then up to ten runs
        // (the latest) with their header and borders, or the lesson.
        let rows = self.rows().len() as u16;
        let legend = self.legend_lines(area.width).len() as u16;
        // The title, the statistics' header, the axis, the legend and the bottom border.
        let least_timeline = rows.min(4) + 4 + legend;
        let room = area.height.saturating_sub(3 + 1);
        let (mut panels, mut runs_rows) = if self.lesson.is_some() {
            (9, 8)
        } else {
            (9, self.runs.len().clamp(1, 10) as u16 + 3)
        };
        let spare = room.saturating_sub(panels + rows + 4 + legend);
        runs_rows = runs_rows.min(spare.max(4));
        // A table needs its borders, its header and a row: below that it is left out (a
        // lesson's text is kept, it is the point of the lesson).
        let least_runs = 4;
        while room.saturating_sub(panels + runs_rows) < least_timeline {
            if runs_rows > least_runs {
                runs_rows -= 1;
            } else if panels > 6 {
                panels -= 1;
            } else if runs_rows > 0 && self.lesson.is_none() {
                runs_rows = 0;
            } else {
                break;
            }
        }
        // What leaving the table out freed goes back to the panels.
        while panels < 9 && room.saturating_sub(panels + runs_rows) > least_timeline {
            panels += 1;
        }
        let [header, timeline, panels, runs, footer] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Min(least_timeline.min(room)),
            Constraint::Length(panels),
            Constraint::Length(runs_rows),
            Constraint::Length(1),
        ])
        .areas(area);
        self.render_header(header, buf);
        self.render_timeline(timeline, buf);
        self.render_panels(panels, buf);
        if self.lesson.is_some() {
            self.render_lesson(runs, buf);
        } else {
            self.render_runs(runs, buf);
        }
        let keys = if area.width >= 140 {
            " ? help  q quit  space pause  p/1-6 policy  r re-run  c compare all  ←→ scroll  +- zoom  f follow  s slow replay  g groups  v speed rows  t tour"
        } else {
            " ? help (all keys)  q quit  p/1-6 policy  c compare  ←→ +- scroll, zoom  s slow replay  t tour"
        };
        Paragraph::new(keys)
            .style(self.style(Style::default().add_modifier(Modifier::REVERSED)))
            .render(footer, buf);
        if self.view.overlay == Overlay::Help {
            self.render_help(area, buf);
        }
    }
}

impl App {
    fn render_header(&self, area: Rect, buf: &mut Buffer) {
        let speeds = compact_speeds(&self.machine.speeds);
        let elapsed = self.current().map_or(0, RunView::now_ns);
        let cpu = match self.ui_cpu {
            Some((cpu, wall)) if !wall.is_zero() => {
                format!(
                    "UI {:.1}% of a core",
                    cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()
                )
            }
            _ => "UI CPU n/a".to_string(),
        };
        let bold = self.style(Style::default().add_modifier(Modifier::BOLD));
        let machine = if self.simulated {
            format!(
                "{} simulated cores, speeds {speeds} │ virtual {}",
                self.machine.workers(),
                fmt_ns(elapsed)
            )
        } else {
            format!(
                "{} workers on {} cores{}, speeds {}{} │ {}",
                self.machine.workers(),
                self.cores,
                if self.machine.workers() > self.cores {
                    " (oversubscribed)"
                } else {
                    ""
                },
                speeds,
                if self.machine.emulated() {
                    " (* emulated)"
                } else {
                    ""
                },
                fmt_ns(elapsed),
            )
        };
        let mut line = vec![
            if self.simulated {
                Span::styled(
                    " SIMULATED ",
                    self.style(
                        Style::default()
                            .add_modifier(Modifier::BOLD)
                            .add_modifier(Modifier::REVERSED),
                    ),
                )
            } else {
                Span::styled(" schedlab ", bold)
            },
            Span::raw(format!(
                "│ {} │ policy ",
                crate::escape::printable(&self.workload)
            )),
            Span::styled(self.policy(), bold),
            Span::raw(format!(" │ {machine} │ ")),
            Span::styled(self.state(), bold),
        ];
        if let Some(r) = self.view.replay {
            let speed = match r.slowdown {
                1 => "real time".to_string(),
                s => format!("1/{s}"),
            };
            let at = r.playhead().min(elapsed);
            line.push(Span::raw(format!(" {speed}, at {}", fmt_ns(at))));
        }
        line.push(Span::raw(format!(
            " │ {cpu} │ events dropped {}",
            self.dropped_events
        )));
        let text = vec![
            Line::from(line),
            Line::from(format!(" {}", crate::escape::printable(&self.description))),
        ];
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::BOTTOM))
            .render(area, buf);
    }

    /// The rows to draw: (label, run, workers averaged into the row).
    fn rows(&self) -> Vec<(String, &RunView, Vec<usize>)> {
        let shown: Vec<&RunView> = match &self.compare {
            Some(range) => self.runs
                [range.start.min(self.runs.len())..range.end.min(self.runs.len())]
                .iter()
                .collect(),
            None => self.current().into_iter().collect(),
        };
        let mut rows = Vec::new();
        for run in shown {
            let prefix = if self.compare.is_some() {
                format!("{} ", run.policy)
            } else {
                String::new()
            };
            if self.view.by_speed {
                let mut classes: Vec<f64> = self.machine.speeds.clone();
                classes.sort_by(|a, b| b.total_cmp(a));
                classes.dedup();
                for speed in classes {
                    let members: Vec<usize> = (0..self.machine.workers())
                        .filter(|&w| self.machine.speeds[w] == speed)
                        .collect();
                    rows.push((format!("{prefix}×{} @{speed}", members.len()), run, members));
                }
            } else {
                for w in 0..self.machine.workers() {
                    rows.push((format!("{prefix}core {w}"), run, vec![w]));
                }
            }
        }
        rows
    }

    /// Cells of the time axis on a screen `screen_width` wide (the rows' labels and statistics
    /// take the rest).
    pub fn timeline_cells(&self, screen_width: u16) -> usize {
        let label_width = label_width(&self.rows());
        (screen_width as usize)
            .saturating_sub(label_width + STATS + 1)
            .max(1)
    }

    fn render_timeline(&self, area: Rect, buf: &mut Buffer) {
        let block = Block::default()
            .borders(Borders::BOTTOM)
            .title(" per-core timeline ");
        let inner = block.inner(area);
        block.render(area, buf);
        let rows = self.rows();
        let label_width = label_width(&rows);
        let width = (inner.width as usize)
            .saturating_sub(label_width + STATS + 1)
            .max(1);
        let (from, per_cell) = self.window(width);
        let until = self.shown_until();
        // A header line, then the rows, then the axis and the legend (and a scroll hint when
        // the rows do not all fit).
        let legend = self.legend_lines(area.width);
        let mut visible = (inner.height as usize)
            .saturating_sub(2 + legend.len())
            .max(1);
        if rows.len() > visible {
            visible = visible.saturating_sub(1).max(1);
        }
        let offset = self.view.row_offset.min(rows.len().saturating_sub(visible));
        let (x0, mut y) = (inner.x, inner.y);
        let stats_x = x0 + (label_width + width + 1) as u16;
        buf.set_string(
            stats_x,
            y,
            "busy  idle   ovh  tasks steals",
            Style::default(),
        );
        // The critical path's bound: no schedule can finish before it.
        if let Some(bound) = self
            .current()
            .and_then(|r| r.finished.as_ref())
            .map(|f| f.report.critical_path_ns)
            .filter(|&b| b > 0 && b >= from && b <= until)
        {
            let col = ((bound - from) / per_cell) as usize;
            // To the right of the mark when it fits before the statistics' header, else to
            // its left, ending at the mark.
            let right = format!("▼ span {}", fmt_ns(bound));
            let left = format!("span {} ▼", fmt_ns(bound));
            let len = right.chars().count();
            let at = if col + len <= width {
                Some((col, right))
            } else {
                (col + 1).checked_sub(len).map(|start| (start, left))
            };
            if let Some((start, text)) = at.filter(|_| col < width) {
                buf.set_stringn(
                    x0 + (label_width + start) as u16,
                    y,
                    text,
                    len,
                    Style::default().add_modifier(Modifier::BOLD),
                );
            }
        }
        y += 1;
        // Cells are written straight into the buffer: a styled span per cell would allocate
        // thousands of strings a frame.
        for (label, run, members) in rows.iter().skip(offset).take(visible) {
            let cells = average(
                members
                    .iter()
                    .map(|&w| run.lanes.cells(w, from, per_cell, width, until)),
            );
            buf.set_stringn(x0, y, label, label_width, Style::default());
            for (i, cell) in cells.iter().enumerate() {
                let (glyph, style) = self.glyph(cell);
                if let Some(c) = buf.cell_mut((x0 + (label_width + i) as u16, y)) {
                    c.set_char(glyph).set_style(style);
                }
            }
            // Attempts on the critical path are underlined (one core per row only).
            if let [worker] = members.as_slice() {
                for a in self.critical_attempts(run) {
                    if a.worker != *worker
                        || a.start_ns >= until.min(from + per_cell * width as u64)
                    {
                        continue;
                    }
                    let first = a.start_ns.saturating_sub(from) / per_cell;
                    let last = (a.end_ns.min(until).saturating_sub(1).max(from) - from) / per_cell;
                    for i in first..=last.min(width as u64 - 1) {
                        if let Some(c) = buf.cell_mut((x0 + (label_width as u64 + i) as u16, y)) {
                            c.modifier.insert(Modifier::UNDERLINED | Modifier::BOLD);
                        }
                    }
                }
            }
            buf.set_string(stats_x, y, self.row_stats(run, members), Style::default());
            y += 1;
        }
        let mut tail = Vec::new();
        if rows.len() > visible {
            tail.push(Line::from(format!(
                "{:label_width$}rows {}–{} of {} (↑/↓ to scroll, v groups by speed)",
                "",
                offset + 1,
                (offset + visible).min(rows.len()),
                rows.len()
            )));
        }
        tail.push(self.axis(from, per_cell, width, label_width));
        tail.extend(legend);
        let rest = Rect::new(
            x0,
            y,
            inner.width,
            (inner.y + inner.height).saturating_sub(y),
        );
        Paragraph::new(tail).render(rest, buf);
    }

    fn glyph(&self, c: &Cell) -> (char, Style) {
        if !c.known {
            return (' ', Style::default());
        }
        let work = c.busy + c.blocked + c.failed;
        if c.steals > 0 {
            return (
                STEAL,
                self.style(
                    Style::default()
                        .fg(Color::White)
                        .add_modifier(Modifier::BOLD),
                ),
            );
        }
        if c.failed >= 0.25 {
            return (
                FAILED,
                self.style(Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)),
            );
        }
        if c.blocked > c.busy && c.blocked >= c.overhead.max(c.idle) {
            return (BLOCKED, self.group_style(c.group));
        }
        if work >= 1.0 / 16.0 {
            let level = ((work * 8.0).ceil() as usize).clamp(1, 8) - 1;
            if self.no_color && level >= 3 {
                return (self.group_glyph(c.group), Style::default());
            }
            return (BLOCKS[level], self.group_style(c.group));
        }
        if c.overhead >= c.idle {
            (OVERHEAD, self.style(Style::default().fg(Color::Yellow)))
        } else {
            (IDLE, self.style(Style::default().fg(Color::DarkGray)))
        }
    }

    pub(crate) fn row_stats(&self, run: &RunView, members: &[usize]) -> String {
        let lanes: Vec<&Lane> = members.iter().map(|&w| &run.lanes.lanes[w]).collect();
        // A replay shows the run up to its playhead, and so do the numbers beside it; a
        // finished run shows its report's; a run going on, what its lanes have seen so far.
        let until = self.shown_until();
        let replayed = self.view.replay.is_some() && until < run.now_ns();
        let (totals, span): (Vec<LaneTotals>, u64) = match &run.finished {
            _ if replayed => (
                lanes
                    .iter()
                    .map(|l| l.totals_until(run.lanes.bin_ns, until))
                    .collect(),
                until,
            ),
            Some(f) => (
                members
                    .iter()
                    .filter_map(|&w| f.report.workers.get(w))
                    .map(|w| LaneTotals {
                        busy_ns: w.busy_ns,
                        overhead_ns: w.overhead_ns,
                        idle_ns: w.idle_ns,
                        tasks: w.tasks,
                        steals: w.steals,
                    })
                    .collect(),
                f.report.makespan_ns,
            ),
            None => (
                lanes
                    .iter()
                    .map(|l| LaneTotals {
                        busy_ns: l.busy_ns,
                        overhead_ns: l.overhead_ns,
                        idle_ns: l.idle_ns,
                        tasks: l.tasks,
                        steals: l.steals,
                    })
                    .collect(),
                run.now_ns(),
            ),
        };
        let sum = |get: fn(&LaneTotals) -> u64| totals.iter().map(get).sum::<u64>();
        let pct = |get: fn(&LaneTotals) -> u64| {
            sum(get) as f64 * 100.0 / span.max(1) as f64 / lanes.len().max(1) as f64
        };
        format!(
            "{:>4.0}% {:>4.0}% {:>4.1}% {:>6} {:>6}",
            pct(|t| t.busy_ns),
            pct(|t| t.idle_ns),
            pct(|t| t.overhead_ns),
            sum(|t| t.tasks),
            sum(|t| t.steals)
        )
    }

    fn axis(&self, from: u64, per_cell: u64, width: usize, label_width: usize) -> Line<'static> {
        // Ticks at round times (1, 2 or 5 × a power of ten) about every 16 cells.
        let target = per_cell.saturating_mul(16).max(1);
        let magnitude = 10u64.pow(target.ilog10());
        let step = [1, 2, 5, 10]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= target)
            .unwrap_or(target);
        let mut text: Vec<char> = vec![' '; width];
        let mut t = from.div_ceil(step) * step;
        let mut free_from = 0;
        while let Some(pos) = usize::try_from((t - from) / per_cell)
            .ok()
            .filter(|p| *p < width)
        {
            let label: Vec<char> = format!("|{}", fmt_ns(t)).chars().collect();
            if pos >= free_from && pos + label.len() <= width {
                text[pos..pos + label.len()].copy_from_slice(&label);
                free_from = pos + label.len() + 1;
            }
            t += step;
        }
        Line::from(format!(
            "{:label_width$}{}",
            "",
            text.into_iter().collect::<String>()
        ))
    }

    /// The legend, its items packed into as many lines of `screen_width` as they need (after
    /// the rows' labels), so that none is cut.
    fn legend_lines(&self, screen_width: u16) -> Vec<Line<'static>> {
        let label_width = label_width(&self.rows());
        let mut items: Vec<Vec<Span<'static>>> = Vec::new();
        for (g, group) in self.plan.groups.iter().enumerate().take(8) {
            items.push(vec![
                Span::styled(
                    self.group_glyph(g as u16).to_string(),
                    self.group_style(g as u16),
                ),
                Span::raw(format!(" {}", crate::escape::printable(&group.name))),
            ]);
        }
        let marked = |glyph: char, color: Color, text: &str| {
            vec![
                Span::styled(glyph.to_string(), self.style(Style::default().fg(color))),
                Span::raw(format!(" {text}")),
            ]
        };
        items.push(marked(OVERHEAD, Color::Yellow, "scheduler"));
        items.push(marked(IDLE, Color::DarkGray, "idle"));
        items.push(vec![Span::raw(format!("{BLOCKED} blocked (I/O)"))]);
        items.push(marked(FAILED, Color::Red, "failed"));
        items.push(vec![Span::raw(format!("{STEAL} steal"))]);
        items.push(vec![Span::raw("▁▄█ busy share")]);
        items.push(vec![
            Span::styled(
                "critical path",
                Style::default().add_modifier(Modifier::UNDERLINED | Modifier::BOLD),
            ),
            Span::raw(" (underlined)"),
        ]);
        items.push(vec![Span::raw("▼ its bound")]);
        let room = (screen_width as usize)
            .saturating_sub(label_width + 1)
            .max(20);
        let mut lines: Vec<Line<'static>> = Vec::new();
        let mut line: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for item in items {
            let len: usize = item
                .iter()
                .map(|s| s.content.chars().count())
                .sum::<usize>()
                + 2;
            if used > 0 && used + len > room {
                lines.push(Line::from(std::mem::take(&mut line)));
                used = 0;
            }
            if used == 0 {
                line.push(Span::raw(" ".repeat(label_width)));
            }
            line.extend(item);
            line.push(Span::raw("  "));
            used += len;
        }
        if !line.is_empty() {
            lines.push(Line::from(line));
        }
        lines
    }

    fn render_panels(&self, area: Rect, buf: &mut Buffer) {
        let [gran, queues, wait, diag] = Layout::horizontal([
            Constraint::Percentage(24),
            Constraint::Percentage(22),
            Constraint::Percentage(24),
            Constraint::Percentage(30),
        ])
        .areas(area);
        let Some(run) = self.current() else { return };
        self.render_granularity(run, gran, buf);
        self.render_queues(run, queues, buf);
        self.render_wait(run, wait, buf);
        // Refreshed a few times a second, not every frame: they scan the whole run.
        let lines: Vec<Line> = self
            .diagnostics
            .iter()
            .map(|d| Line::from(format!("⚠ {d}")))
            .collect();
        let lines = if lines.is_empty() {
            vec![Line::from("no warnings")]
        } else {
            lines
        };
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" diagnostics "))
            .render(diag, buf);
    }

    fn render_granularity(&self, run: &RunView, area: Rect, buf: &mut Buffer) {
        let title = format!(" granularity ({}) ", run.policy);
        let t = totals(run);
        let lines = vec![
            Line::from(format!(
                "scheduler per task {}",
                fmt_ns(t.overhead_per_task())
            )),
            Line::from(format!(
                "scheduler / work   {:.1} %",
                t.overhead_share() * 100.0
            )),
            Line::from(format!("mean task          {}", fmt_ns(t.mean_task()))),
            Line::from(format!("attempts           {}", t.tasks)),
            Line::from(""),
            Line::from(verdict(&t, self.machine.workers())),
        ];
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(title))
            .render(area, buf);
    }

    fn render_queues(&self, run: &RunView, area: Rect, buf: &mut Buffer) {
        let block = Block::bordered().title(" ready queues ");
        let inner = block.inner(area);
        block.render(area, buf);
        let [spark, now] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(inner);
        let width = spark.width as usize;
        let data: Vec<u64> = run
            .depth
            .iter()
            .rev()
            .take(width)
            .rev()
            .map(|(_, d)| *d)
            .collect();
        Sparkline::default()
            .data(&data)
            .style(self.style(Style::default().fg(Color::Yellow)))
            .render(spark, buf);
        // Idle by cause, refreshed with the diagnostics: the report's when the run is over,
        // estimated from the samples so far while it goes on.
        let mut text = match self.idle_split {
            Some((idle, elsewhere, estimated)) if idle > 0 => format!(
                "idle {:.0}% while work was queued, {:.0}% with none{}\n",
                elsewhere as f64 * 100.0 / idle as f64,
                (idle - elsewhere) as f64 * 100.0 / idle as f64,
                if estimated { " (est.)" } else { "" }
            ),
            _ => String::new(),
        };
        text.push_str("now:");
        if let Some(p) = &run.progress {
            if p.queued_shared > 0 || p.queued.iter().all(|&q| q == 0) {
                text.push_str(&format!(" shared {}", p.queued_shared));
            }
            for (w, q) in p.queued.iter().enumerate() {
                text.push_str(&format!(" c{w}:{q}"));
            }
        }
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .render(now, buf);
    }

    fn render_wait(&self, run: &RunView, area: Rect, buf: &mut Buffer) {
        let title = if self.view.by_group {
            " wait · response by group (g) "
        } else {
            " wait ▇ · response ▒ (g) "
        };
        let Some(f) = &run.finished else {
            Paragraph::new("measured when the run ends")
                .block(Block::bordered().title(title))
                .render(area, buf);
            return;
        };
        let mut lines = Vec::new();
        if self.view.by_group {
            lines.push(Line::from("p99 of wait / of response"));
            for (g, group) in self.plan.groups.iter().enumerate() {
                let (wait, response) = (&f.group_waits[g], &f.group_responses[g]);
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("{} ", self.group_glyph(g as u16)),
                        self.group_style(g as u16),
                    ),
                    Span::raw(format!(
                        "{:<8.8} {} / {}",
                        group.name,
                        fmt_ns(wait.quantile(0.99)),
                        fmt_ns(response.quantile(0.99))
                    )),
                ]));
            }
        } else {
            for (name, h) in [("wait", &f.wait), ("resp", &f.response)] {
                lines.push(Line::from(format!(
                    "{name} p50 {} p99 {}",
                    fmt_ns(h.quantile(0.5)),
                    fmt_ns(h.quantile(0.99)),
                )));
            }
            let rows = (area.height as usize).saturating_sub(2 + lines.len());
            let bar_width = (area.width as usize).saturating_sub(11) / 2;
            for (label, wait, response) in decade_rows(&f.wait, &f.response, rows) {
                lines.push(Line::from(format!(
                    "{label:<7} {:<bar_width$} {}",
                    "▇".repeat((wait * bar_width as f64).ceil() as usize),
                    "▒".repeat((response * bar_width as f64).ceil() as usize),
                )));
            }
        }
        Paragraph::new(lines)
            .block(Block::bordered().title(title))
            .render(area, buf);
    }

    fn render_runs(&self, area: Rect, buf: &mut Buffer) {
        let mut lines = vec![Line::from(format!(
            "{:>3} {:<8} {:>7} {:>10} {:>10} {:>7} {:>9} {:>10} {:>7}",
            "#",
            "policy",
            "workers",
            "makespan",
            "efficiency",
            "idle %",
            "overhead%",
            "p99 wait",
            "failed"
        ))];
        // Policies run more than once get their spread, and the differences a verdict.
        let reports: Vec<crate::report::Report> = self
            .runs
            .iter()
            .filter_map(|r| r.finished.as_ref())
            .map(|f| f.report.clone())
            .filter(|r| !r.interrupted)
            .collect();
        let repeated: Vec<crate::compare::PolicySummary> = crate::compare::summarize(&reports)
            .into_iter()
            .filter(|s| s.runs >= 2)
            .collect();
        let verdicts = if repeated.len() >= 2 {
            crate::compare::verdicts(&repeated)
        } else {
            Vec::new()
        };
        let last_of = |policy: &str| {
            self.runs.iter().rposition(|r| {
                r.policy == policy && r.finished.as_ref().is_some_and(|f| !f.report.interrupted)
            })
        };
        let skip = self.runs.len().saturating_sub(
            (area.height.saturating_sub(3) as usize).saturating_sub(verdicts.len()),
        );
        for (i, run) in self.runs.iter().enumerate().skip(skip) {
            let text = match &run.finished {
                Some(f) => {
                    let r = &f.report;
                    let total = (r.makespan_ns * r.workers.len() as u64).max(1) as f64;
                    let idle: u64 = r.workers.iter().map(|w| w.idle_ns).sum();
                    let overhead: u64 = r.workers.iter().map(|w| w.overhead_ns).sum();
                    format!(
                        "{:>3} {:<8} {:>7} {:>10} {:>9.1}% {:>7.1} {:>9.2} {:>10} {:>7}{}",
                        i + 1,
                        run.policy,
                        r.workers.len(),
                        fmt_ns(r.makespan_ns),
                        r.efficiency * 100.0,
                        idle as f64 * 100.0 / total,
                        overhead as f64 * 100.0 / total,
                        fmt_ns(r.wait_ns.p99),
                        r.tasks.failed,
                        if r.interrupted { "  (stopped)" } else { "" }
                    )
                }
                None => format!(
                    "{:>3} {:<8} {:>7} running…",
                    i + 1,
                    run.policy,
                    self.machine.workers()
                ),
            };
            let spread = repeated
                .iter()
                .find(|s| s.policy == run.policy && last_of(run.policy) == Some(i))
                .map(|s| {
                    let m = &s.makespan_ns;
                    format!(
                        "   {} runs: median {} [{}–{}]",
                        s.runs,
                        fmt_ns(m.median as u64),
                        fmt_ns(m.min as u64),
                        fmt_ns(m.max as u64)
                    )
                })
                .unwrap_or_default();
            lines.push(Line::from(text + &spread));
        }
        lines.extend(verdicts.into_iter().map(|v| Line::from(format!("    {v}"))));
        Paragraph::new(lines)
            .block(Block::bordered().title(" runs this session "))
            .render(area, buf);
    }

    fn render_lesson(&self, area: Rect, buf: &mut Buffer) {
        let Some(index) = self.lesson else {
            return;
        };
        let lesson = &crate::tour::LESSONS[index];
        let bold = self.style(Style::default().add_modifier(Modifier::BOLD));
        let measured = match &self.conclusion {
            Some(c) => Line::from(vec![Span::styled("Measured: ", bold), Span::raw(c.clone())]),
            None => Line::from(format!(
                "Measured: running {}…",
                lesson.policies.join(", then ")
            )),
        };
        let text = vec![
            Line::from(Span::styled(lesson.idea, Style::default())),
            Line::from(vec![
                Span::styled("Watch: ", bold),
                Span::raw(format!("{}.", lesson.watch)),
            ]),
            measured,
        ];
        let next = if index + 1 < crate::tour::LESSONS.len() {
            "t next lesson"
        } else {
            "t end the tour"
        };
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(format!(
                " lesson {} of {}: {} ({next}, q leave) ",
                index + 1,
                crate::tour::LESSONS.len(),
                lesson.title
            )))
            .render(area, buf);
    }

    fn render_help(&self, area: Rect, buf: &mut Buffer) {
        let text = "\
Each row is a core; time flows left to right. A cell shows that slice:
 ▁▂▃▄▅▆▇█ a task body, coloured by group (without colour: █▓▒#%@&= by
          group); the height is the share of the slice spent in bodies
 ─ blocked in Sleep or I/O   ░ the scheduler   · idle   ✗ attempt panicked
 ↯ this core stole a task    underlined: the attempts on the critical path
 ▼ span: no schedule can end before it.   * a slower speed, emulated

Keys
 ?  this help        Esc  close it            q  quit
 space  pause view   f  follow the live run   ← →  scroll   + -  zoom, wheel
 p  next policy      1-6  fifo rr steal hetero heft cp (same seed)
 r  re-run           c  every policy, timelines stacked
 s  slow replay of the last run: 1/10, 1/100, 1/1000, off
 [ ]  scrub by 1/20 of the run ({ } by 1/4)   0 or Home  replay from start
      (in a replay, space pauses and resumes the playhead)
 g  wait and response per group   ↑ ↓  scroll cores   v  a row per speed
 t  the guided tour: a lesson per idea, run here; t again for the next";
        let w = (text.lines().map(|l| l.chars().count()).max().unwrap_or(0) as u16 + 2)
            .min(area.width.saturating_sub(2));
        let h = (text.lines().count() as u16 + 2).min(area.height.saturating_sub(2));
        let popup = Rect::new(
            area.x + (area.width - w) / 2,
            area.y + (area.height - h) / 2,
            w,
            h,
        );
        Clear.render(popup, buf);
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" help (? or Esc to close) "))
            .render(popup, buf);
    }
}

/// Width of the row labels: the longest, and at least [`LABEL`].
fn label_width(rows: &[(String, &RunView, Vec<usize>)]) -> usize {
    rows.iter()
        .map(|r| r.0.chars().count() + 1)
        .max()
        .unwrap_or(LABEL)
        .max(LABEL)
}

/// Speeds for the header: each written out for a few workers, counted for many
/// (`32×1 32×0.5*`); `*` marks an emulated speed.
fn compact_speeds(speeds: &[f64]) -> String {
    let mark = |s: f64| {
        if s < 1.0 {
            format!("{s}*")
        } else {
            format!("{s}")
        }
    };
    if speeds.len() <= 8 {
        return speeds
            .iter()
            .map(|&s| mark(s))
            .collect::<Vec<_>>()
            .join(" ");
    }
    let mut runs: Vec<(f64, usize)> = Vec::new();
    for &s in speeds {
        match runs.last_mut() {
            Some((last, n)) if *last == s => *n += 1,
            _ => runs.push((s, 1)),
        }
    }
    runs.iter()
        .map(|(s, n)| format!("{n}×{}", mark(*s)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cells of several workers averaged into one row.
fn average(rows: impl Iterator<Item = Vec<Cell>>) -> Vec<Cell> {
    let rows: Vec<Vec<Cell>> = rows.collect();
    if rows.len() == 1 {
        return rows.into_iter().next().unwrap_or_default();
    }
    let n = rows.len() as f32;
    let width = rows.first().map_or(0, Vec::len);
    (0..width)
        .map(|i| {
            let mut c = Cell::default();
            for row in &rows {
                let r = row[i];
                c.busy += r.busy / n;
                c.blocked += r.blocked / n;
                c.failed += r.failed / n;
                c.overhead += r.overhead / n;
                c.idle += r.idle / n;
                c.steals += r.steals;
                c.known |= r.known;
                if r.busy > 0.0 {
                    c.group = r.group;
                }
            }
            c
        })
        .collect()
}

/// Rows of a histogram of `wait` and `response` by powers of ten, at most `rows` of them:
/// each row's label (the decade's upper bound, `<10µs`) and the two distributions' shares
/// there, scaled so the fullest row of each is 1. Every row from the lowest decade holding a
/// value to the highest is shown, so the tail (the p99) is never cut off; when there are more
/// than `rows`, the lowest ones are folded into the first row shown (which still counts what
/// lies below its bound).
pub fn decade_rows(wait: &Times, response: &Times, rows: usize) -> Vec<(String, f64, f64)> {
    const BOUNDS: [&str; 11] = [
        "<10ns", "<100ns", "<1µs", "<10µs", "<100µs", "<1ms", "<10ms", "<100ms", "<1s", "<10s",
        "≥10s",
    ];
    let buckets = |h: &Times| {
        let mut b = [0u64; 11];
        for (value, count) in h.counts() {
            let decade = (value.max(1) as f64).log10().floor() as usize;
            b[decade.min(10)] += count;
        }
        b
    };
    let (mut w, mut r) = (buckets(wait), buckets(response));
    let used = |d: &usize| w[*d] > 0 || r[*d] > 0;
    let (Some(low), Some(high)) = ((0..11).find(used), (0..11).rfind(used)) else {
        return Vec::new();
    };
    let low = low.max((high + 1).saturating_sub(rows.max(1)));
    for d in 0..low {
        w[low] += w[d];
        r[low] += r[d];
    }
    let most = |b: &[u64; 11]| b[low..=high].iter().copied().max().unwrap_or(0).max(1) as f64;
    let (wm, rm) = (most(&w), most(&r));
    (low..=high)
        .map(|d| (BOUNDS[d].to_string(), w[d] as f64 / wm, r[d] as f64 / rm))
        .collect()
}

/// A run's totals over all workers, live or final.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Task body time.
    pub busy_ns: u64,
    /// Task bodies' own time: the report's `work_ns` once the run is over (emulated
    /// slowdown and preemption left out), the body time so far while it goes on.
    pub work_ns: u64,
    /// Scheduler time, less what the OS held the workers off their cores inside it once the
    /// run is over (as the report's cost per task has it).
    pub overhead_ns: u64,
    /// Idle time.
    pub idle_ns: u64,
    /// Attempts.
    pub tasks: u64,
    /// The run's length so far.
    pub span_ns: u64,
    /// Ready tasks at the last sample.
    pub ready_now: u64,
}

impl Totals {
    fn overhead_per_task(&self) -> u64 {
        self.overhead_ns.checked_div(self.tasks).unwrap_or(0)
    }
    fn overhead_share(&self) -> f64 {
        if self.work_ns == 0 {
            0.0
        } else {
            self.overhead_ns as f64 / self.work_ns as f64
        }
    }
    fn mean_task(&self) -> u64 {
        self.work_ns.checked_div(self.tasks).unwrap_or(0)
    }
}

/// Totals of `run`, from its report when it is over.
pub fn totals(run: &RunView) -> Totals {
    let ready_now = run.depth.last().map_or(0, |(_, d)| *d);
    match &run.finished {
        Some(f) => {
            let r = &f.report;
            Totals {
                busy_ns: r.workers.iter().map(|w| w.busy_ns).sum(),
                work_ns: r.work_ns,
                overhead_ns: r
                    .workers
                    .iter()
                    .map(|w| w.overhead_ns - w.preempted_overhead_ns)
                    .sum(),
                idle_ns: r.workers.iter().map(|w| w.idle_ns).sum(),
                tasks: r.workers.iter().map(|w| w.tasks).sum(),
                span_ns: r.makespan_ns,
                ready_now,
            }
        }
        None => Totals {
            busy_ns: run.lanes.lanes.iter().map(|l| l.busy_ns).sum(),
            work_ns: run.lanes.lanes.iter().map(|l| l.busy_ns).sum(),
            overhead_ns: run.lanes.lanes.iter().map(|l| l.overhead_ns).sum(),
            idle_ns: run.lanes.lanes.iter().map(|l| l.idle_ns).sum(),
            tasks: run.lanes.lanes.iter().map(|l| l.tasks).sum(),
            span_ns: run.now_ns(),
            ready_now,
        },
    }
}

/// One line a student can act on, about task size.
pub fn verdict(t: &Totals, workers: usize) -> String {
    let share = t.overhead_share();
    if t.tasks == 0 {
        "no task has run yet".to_string()
    } else if share > 0.1 {
        // The same line the diagnostics draw: a task under ten times its scheduling cost.
        format!("tasks too small: overhead is {:.0}% of work", share * 100.0)
    } else if t.tasks < 2 * workers as u64
        && t.idle_ns as f64 > 0.3 * (t.span_ns * workers as u64) as f64
    {
        format!(
            "tasks too few or too big: {} tasks for {workers} cores",
            t.tasks
        )
    } else {
        format!(
            "granularity fine: overhead is {:.1}% of work",
            share * 100.0
        )
    }
}
