//! Reading an [`Event`] from its JSON line, fast.
//!
//! The writer puts `seq`, `t` and `kind` first. The visitor reads those
//! directly (the time through a parser for the log's own fixed format);
//! an `output` line's fields are then read straight into place, and any
//! other kind's line is handed, with the kind in front, to the derived
//! reader of [`EventKind`]: one pass over the line, no second buffer. `seq` or `t` after `kind` are
//! picked out on the way. A line that puts another field before `kind`
//! (written by some other tool) is read the general way, through a
//! `serde_json::Value`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::{Event, EventKind};

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a session event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut seq = None;
        let mut t = None;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match key.as_str() {
                "seq" => seq = Some(map.next_value()?),
                "t" => t = Some(map.next_value::<Stamp>()?.0),
                "kind" => {
                    let kind = map.next_value::<Text<'de>>()?;
                    if kind.as_str() == "output" {
                        let rest = KindFirst {
                            kind: None,
                            key_given: true,
                            rest: map,
                            seq: &mut seq,
                            t: &mut t,
                        };
                        let fields = OutputFields::deserialize(MapAccessDeserializer::new(rest))?;
                        return Ok(Event {
                            seq: seq.ok_or_else(|| de::Error::missing_field("seq"))?,
                            t: t.ok_or_else(|| de::Error::missing_field("t"))?,
                            kind: EventKind::Output {
                                phase: fields.phase,
                                attempt: fields.attempt,
                                text: fields.text,
                            },
                        });
                    }
                    let rest = KindFirst {
                        kind: Some(kind),
                        key_given: false,
                        rest: map,
                        seq: &mut seq,
                        t: &mut t,
                    };
                    let kind = EventKind::deserialize(MapAccessDeserializer::new(rest))?;
                    return Ok(Event {
                        seq: seq.ok_or_else(|| de::Error::missing_field("seq"))?,
                        t: t.ok_or_else(|| de::Error::missing_field("t"))?,
                        kind,
                    });
                }
                other => return read_in_any_order(other.to_owned(), seq, t, map),
            }
        }
        Err(de::Error::missing_field("kind"))
    }
}

/// The fields of `output`, the kind most lines are, read straight from the
/// line (the other kinds go through serde's reader of a tagged enum, which
/// gathers the fields first).
#[derive(Deserialize)]
struct OutputFields {
    phase: String,
    attempt: u32,
    text: String,
}

/// The general way, for fields in an order this writer never uses: the
/// rest of the object as a `serde_json::Value`, read with serde's flatten.
fn read_in_any_order<'de, A: MapAccess<'de>>(
    first: String,
    seq: Option<u64>,
    t: Option<DateTime<Utc>>,
    mut map: A,
) -> Result<Event, A::Error> {
    #[derive(Deserialize)]
    struct Shuffled {
        seq: u64,
        t: Stamp,
        #[serde(flatten)]
        kind: EventKind,
    }
    let mut object = serde_json::Map::new();
    object.insert(first, map.next_value()?);
    while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
        object.insert(key, value);
    }
    if let Some(seq) = seq {
        object.insert("seq".into(), seq.into());
    }
    if let Some(t) = t {
        let text = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        object.insert("t".into(), text.into());
    }
    let shuffled =
        Shuffled::deserialize(serde_json::Value::Object(object)).map_err(de::Error::custom)?;
    Ok(Event {
        seq: shuffled.seq,
        t: shuffled.t.0,
        kind: shuffled.kind,
    })
}

/// The rest of an event's object with `kind` handed out first, and `seq`
/// and `t` taken out when they come after it.
struct KindFirst<'a, 'de, A> {
    kind: Option<Text<'de>>,
    key_given: bool,
    rest: A,
    seq: &'a mut Option<u64>,
    t: &'a mut Option<DateTime<Utc>>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for KindFirst<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if !self.key_given {
            self.key_given = true;
            return seed
                .deserialize(BorrowedStrDeserializer::new("kind"))
                .map(Some);
        }
        while let Some(key) = self.rest.next_key::<Text<'de>>()? {
            match key.as_str() {
                "seq" if self.seq.is_none() => *self.seq = Some(self.rest.next_value()?),
                "t" if self.t.is_none() => *self.t = Some(self.rest.next_value::<Stamp>()?.0),
                _ => return key.give(seed).map(Some),
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.kind.take() {
            Some(kind) => kind.give(seed),
            None => self.rest.next_value_seed(seed),
        }
    }
}

/// A string from the line: borrowed when it has no escapes in it.
enum Text<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Text<'de> {
    fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Owned(s) => s,
        }
    }

    /// Hands the string on to whatever reads it next.
    fn give<S: DeserializeSeed<'de>, E: de::Error>(self, seed: S) -> Result<S::Value, E> {
        match self {
            Self::Borrowed(s) => seed.deserialize(BorrowedStrDeserializer::new(s)),
            Self::Owned(s) => seed.deserialize(StringDeserializer::new(s)),
        }
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text::Owned(v))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// An event's time, `2026-11-20T10:00:00.123Z` or any RFC 3339 time.
struct Stamp(DateTime<Utc>);

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StampVisitor;
        impl Visitor<'_> for StampVisitor {
            type Value = Stamp;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an RFC 3339 time")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Stamp, E> {
                parse_time(v)
                    .map(Stamp)
                    .ok_or_else(|| de::Error::custom(format!("`{v}` is not an RFC 3339 time")))
            }
        }
        deserializer.deserialize_str(StampVisitor)
    }
}

/// Parses the log's own format (UTC, milliseconds) directly; anything
/// else RFC 3339 allows (offsets, other precisions, leap seconds) through
/// chrono.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let shape = b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z';
    let number = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0_u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let fast = || {
        let year = i32::try_from(number(0, 4)?).ok()?;
        NaiveDate::from_ymd_opt(year, number(5, 7)?, number(8, 10)?)?
            .and_hms_milli_opt(
                number(11, 13)?,
                number(14, 16)?,
                number(17, 19)?,
                number(20, 23)?,
            )
            .map(|t| t.and_utc())
    };
    shape.then(fast).flatten().or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::event::{Action, DecidedBy, Decision};

    #[test]
    fn reads_times_in_the_log_format_and_any_rfc_3339() {
        let parse = |s: &str| parse_time(s).map(|t| t.to_rfc3339());
        assert_eq!(
            parse("2026-11-20T10:00:00.123Z").as_deref(),
            Some("2026-11-20T10:00:00.123+00:00")
        );
        assert_eq!(
            parse("2026-11-20T12:00:00+02:00").as_deref(),
            Some("2026-11-20T10:00:00+00:00")
        );
        assert_eq!(parse("2026-13-20T10:00:00.123Z"), None);
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn reads_fields_in_any_order_and_escaped_strings() {
        let expected = Event {
            seq: 4,
            t: parse_time("2026-11-20T10:00:00.500Z").expect("time"),
            kind: EventKind::Decision(Decision {
                notes: Some("line one\nline \"two\"".into()),
                ..Decision::new("plan", Action::ApproveWithNotes, DecidedBy::User)
            }),
        };
        for line in [
            r#"{"seq":4,"t":"2026-11-20T10:00:00.500Z","kind":"decision","phase":"plan","action":"approve_with_notes","notes":"line one\nline \"two\""}"#,
            r#"{"kind":"decision","phase":"plan","seq":4,"action":"approve_with_notes","notes":"line one\nline \"two\"","t":"2026-11-20T10:00:00.500Z"}"#,
            r#"{"phase":"plan","action":"approve_with_notes","t":"2026-11-20T10:00:00.500Z","notes":"line one\nline \"two\"","kind":"decision","seq":4}"#,
            r#"{"seq":4,"t":"2026-11-20T10:00:00.500Z","k\u0069nd":"decision","phase":"plan","action":"approve_with_notes","notes":"line one\nline \"two\""}"#,
        ] {
            let event: Event = serde_json::from_str(line).expect(line);
            assert_eq!(event, expected, "{line}");
            let value: serde_json::Value = serde_json::from_str(line).expect("value");
            assert_eq!(Event::deserialize(value).expect("from a value"), expected);
        }
    }

    #[test]
    fn a_tool_call_reads_with_its_card_and_without_it_as_older_logs_wrote_it() {
        let old = r#"{"seq":5,"t":"2026-11-20T10:00:00.500Z","kind":"tool_call","phase":"plan","attempt":1,"call_id":"c1","tool":"read_file","args":{"path":"a.rs"}}"#;
        let event: Event = serde_json::from_str(old).expect(old);
        assert!(
            matches!(
                &event.kind,
                EventKind::ToolCall {
                    target: None,
                    checklist: None,
                    ..
                }
            ),
            "{event:?}"
        );
        let new = Event {
            kind: EventKind::ToolCall {
                phase: "plan".into(),
                attempt: 1,
                call_id: "c2".into(),
                tool: "report_status".into(),
                args: serde_json::json!({"completed": ["a"], "pending": []}),
                target: Some("1 done, 0 to do".into()),
                checklist: Some(super::super::Checklist {
                    completed: vec!["a".into()],
                    pending: Vec::new(),
                    ..super::super::Checklist::default()
                }),
            },
            ..event
        };
        let line = serde_json::to_string(&new).expect("write");
        assert!(
            line.contains(r#""target":"1 done, 0 to do","checklist":{"#),
            "{line}"
        );
        assert_eq!(serde_json::from_str::<Event>(&line).expect("read"), new);
    }

    #[test]
    fn names_what_is_missing() {
        let err = serde_json::from_str::<Event>(r#"{"t":"2026-11-20T10:00:00.500Z","kind":"decision","phase":"plan","action":"approve"}"#)
            .expect_err("no seq");
        assert!(err.to_string().contains("missing field `seq`"), "{err}");
        let err = serde_json::from_str::<Event>(r#"{"seq":1,"t":"2026-11-20T10:00:00.500Z"}"#)
            .expect_err("no kind");
        assert!(err.to_string().contains("missing field `kind`"), "{err}");
    }
}
