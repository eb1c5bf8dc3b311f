//! What each key and mouse gesture means: pure functions from input to [`Action`], so key
//! handling is tested without a terminal.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

/// Something the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave.
    Quit,
    /// Leave because of Ctrl-C (exit status 130).
    Interrupt,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Close whatever overlay is open.
    CloseOverlay,
    /// Freeze or unfreeze the view (the run goes on).
    TogglePause,
    /// Re-run under the next policy.
    NextPolicy,
    /// Re-run under policy number N (0-based).
    Policy(usize),
    /// Re-run under the same policy and seed.
    Rerun,
    /// Run every policy back to back and stack their timelines.
    CompareAll,
    /// Move the time window earlier (negative) or later, in cells.
    Scroll(i32),
    /// Zoom the time axis in (true) or out.
    Zoom(bool),
    /// Follow the live run again.
    Follow,
    /// Replay the last run slowed down; cycles 1/10, 1/100, 1/1000, off.
    SlowReplay,
    /// Move the replay's playhead by this many twentieths of the run.
    Scrub(i32),
    /// Replay from the start.
    Rewind,
    /// Start the guided tour, or go on to its next lesson.
    Tour,
    /// Toggle the per-group view of the histogram.
    ToggleGroups,
    /// Scroll the core rows by this many.
    Rows(i32),
    /// Toggle grouping the core rows by speed class.
    ToggleSpeedGroups,
}

/// The action for a key, if it has one.
pub fn key_action(key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Action::Interrupt,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Esc => Action::CloseOverlay,
        KeyCode::Char(' ') => Action::TogglePause,
        KeyCode::Char('p') => Action::NextPolicy,
        KeyCode::Char(c @ '1'..='9') => Action::Policy(c as usize - '1' as usize),
        KeyCode::Char('r') => Action::Rerun,
        KeyCode::Char('c') => Action::CompareAll,
        KeyCode::Left => Action::Scroll(-8),
        KeyCode::Right => Action::Scroll(8),
        KeyCode::Char('+' | '=') => Action::Zoom(true),
        KeyCode::Char('-' | '_') => Action::Zoom(false),
        KeyCode::Char('f') => Action::Follow,
        KeyCode::Char('s') => Action::SlowReplay,
        KeyCode::Char('[') => Action::Scrub(-1),
        KeyCode::Char(']') => Action::Scrub(1),
        KeyCode::Char('{') => Action::Scrub(-5),
        KeyCode::Char('}') => Action::Scrub(5),
        KeyCode::Home | KeyCode::Char('0') => Action::Rewind,
        KeyCode::Char('t') => Action::Tour,
        KeyCode::Char('g') => Action::ToggleGroups,
        KeyCode::Char('v') => Action::ToggleSpeedGroups,
        KeyCode::Up => Action::Rows(-1),
        KeyCode::Down => Action::Rows(1),
        KeyCode::PageUp => Action::Rows(-10),
        KeyCode::PageDown => Action::Rows(10),
        _ => return None,
    })
}

/// The action for any terminal event: keys, and the mouse wheel zooms.
pub fn event_action(event: &Event) -> Option<Action> {
    match event {
        Event::Key(key) => key_action(*key),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::ScrollUp => Some(Action::Zoom(true)),
            MouseEventKind::ScrollDown => Some(Action::Zoom(false)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(key_action(key(KeyCode::Char('q'))), Some(Action::Quit));
        assert_eq!(
            key_action(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Interrupt)
        );
        assert_eq!(
            key_action(key(KeyCode::Char('c'))),
            Some(Action::CompareAll)
        );
        assert_eq!(key_action(key(KeyCode::Char('3'))), Some(Action::Policy(2)));
        assert_eq!(
            key_action(key(KeyCode::Char('?'))),
            Some(Action::ToggleHelp)
        );
        assert_eq!(key_action(key(KeyCode::Esc)), Some(Action::CloseOverlay));
        assert_eq!(key_action(key(KeyCode::Char('x'))), None);
        let release = KeyEvent {
            kind: KeyEventKind::Release,
            ..key(KeyCode::Char('q'))
        };
        assert_eq!(
            key_action(release),
            None,
            "a key release is not a second press"
        );
    }
}
