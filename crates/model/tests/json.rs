//! The lazy JSON reader: members in order, as sent, without a value tree.

use user_trace_model::json::{
    count, decode_string, kind, members, members_from, outline, page_starts, path_segment, summary,
    JsonKind,
};

#[test]
fn members_of_an_object_keep_order_and_text() {
    let raw = r#" { "z" : 1.50 , "a":[1, {"b": "]}"}], "\"q\"": null, "n": -1e400 } "#;
    let m: Vec<_> = members(raw).map(|m| (m.key.unwrap(), m.value)).collect();
    assert_eq!(
        m,
        vec![
            ("\"z\"", "1.50"),
            ("\"a\"", r#"[1, {"b": "]}"}]"#),
            (r#""\"q\"""#, "null"),
            ("\"n\"", "-1e400")
        ]
    );
    assert_eq!(decode_string(m[2].0), "\"q\"");
    assert_eq!(kind(m[1].1), JsonKind::Array);
    assert_eq!(count(m[1].1), 2);
}

#[test]
fn scalars_and_empty_containers_have_no_members() {
    for raw in ["1", "\"s\"", "true", "null", "{}", "[]", " [ ] "] {
        assert_eq!(count(raw), 0, "{raw}");
    }
}

#[test]
fn deep_nesting_is_walked_without_recursion() {
    let deep = format!("[{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(count(&deep), 1);
}

#[test]
fn pages_start_where_their_first_member_starts() {
    let raw = format!(
        "[{}]",
        (0..250)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let starts = page_starts(&raw, 100);
    assert_eq!(starts.len(), 3);
    let third: Vec<_> = members_from(&raw, starts[2]).map(|m| m.value).collect();
    assert_eq!(third.len(), 50);
    assert_eq!(third[0], "200");
}

#[test]
fn an_outline_keeps_the_members_of_one_page_and_only_the_starts_of_many() {
    let small = r#"  {"a": [1, 2, "x\"]"], "b": {"c": {}}, "d": "long string value"} "#;
    let o = outline(small, 100);
    assert_eq!(
        (o.starts, o.count),
        (vec![1], 3),
        "the first key starts after the brace"
    );
    let kept: Vec<_> = o
        .first_page
        .iter()
        .map(|m| m.get(small.trim()).unwrap())
        .collect();
    let walked: Vec<_> = members(small).collect();
    assert_eq!(kept, walked);
    assert_eq!(kept[0].count, 3);
    assert_eq!(kept[1].count, 1);

    let big = format!("[{}]", vec!["{\"k\": [1, 2]}"; 250].join(","));
    let o = outline(&big, 100);
    assert_eq!(o.count, 250);
    assert_eq!(o.starts.len(), 3);
    assert!(o.first_page.is_empty(), "pages read their own members");
}

#[test]
fn summaries_and_paths() {
    assert_eq!(summary(r#"{"a":1,"b":2}"#, 10), "{2 keys}");
    assert_eq!(summary("[1]", 10), "[1 item]");
    assert_eq!(summary(r#""h\u00e9llo world""#, 5), "héllo…");
    assert_eq!(
        summary("12345678901234567890123", 5),
        "12345678901234567890123"
    );
    assert_eq!(path_segment(Some("\"name\""), 0), ".name");
    assert_eq!(path_segment(Some("\"a b\""), 0), "[\"a b\"]");
    assert_eq!(path_segment(None, 7), "[7]");
}

#[test]
fn invalid_text_never_panics() {
    for raw in [
        "{",
        "[1,",
        "{\"a\"",
        "{\"a\" 1}",
        "\"",
        "[\"\\",
        "}",
        "{\"a\":}",
        "",
    ] {
        let _ = count(raw);
        let _ = summary(raw, 3);
        let _ = page_starts(raw, 1);
    }
}

#[test]
fn huge_containers_nest_their_pages_so_no_level_shows_more_than_100_rows() {
    use user_trace_model::json::{page_groups, pages};
    // 100,000 members: 1,000 pages of 100, shown as 10 groups of 10,000 members.
    let raw = format!("[{}]", vec!["0"; 100_000].join(","));
    let (starts, total) = pages(&raw, 100);
    assert_eq!((starts.len(), total), (1_000, 100_000));
    let top = page_groups(0..1_000, 100);
    assert_eq!(top.len(), 10);
    assert_eq!(top[0], 0..100);
    assert_eq!(top[9], 900..1_000);
    // Inside a group of 100 pages: each page on its own row.
    assert_eq!(
        page_groups(0..100, 100),
        (0..100).map(|p| p..p + 1).collect::<Vec<_>>()
    );
    // An uneven tail stays within the range.
    assert_eq!(page_groups(0..250, 100), vec![0..100, 100..200, 200..250]);
    assert_eq!(page_groups(200..250, 100).last(), Some(&(249..250)));
    // A million pages: three levels.
    assert_eq!(page_groups(0..1_000_000, 100).len(), 100);
    assert_eq!(page_groups(0..1_000_000, 100)[0], 0..10_000);
}

#[test]
fn members_carry_their_own_member_counts() {
    // The counts come from the same pass that lists the members; they must agree with
    // counting each value on its own (commas and brackets inside strings do not count).
    let raw = r#"{"a": [1, [2, 3], {"x": ",]"}], "b": { }, "c": [ ], "d": "s,[", "e": [[]], "f": {"k": 1, "l": [1,2]}, "g": 7}"#;
    let got: Vec<(String, usize)> = members(raw)
        .map(|m| (m.key.unwrap_or("").to_owned(), m.count))
        .collect();
    let want: Vec<(String, usize)> = members(raw)
        .map(|m| (m.key.unwrap_or("").to_owned(), count(m.value)))
        .collect();
    assert_eq!(got, want);
    let counts: Vec<usize> = got.iter().map(|g| g.1).collect();
    assert_eq!(counts, [3, 0, 0, 0, 1, 2, 0]);
}

#[test]
fn the_decoder_outlines_a_large_container_as_the_model_would() {
    use user_trace_model::protocol::{decode_event, outline::PAGE, Content, Op};
    let object = format!(
        "{{\"list\": [{}], \"name\": \"x\", \"deep\": {{\"a\": [1, {{}}], \"b\": \"}}\"}}}}",
        vec!["{\"k\": [1, 2, \"s\"]}"; 5_000].join(", ")
    );
    let array = format!("[{}]", vec!["{\"k\": [1, 2]}"; 5_000].join(" ,\n "));
    let small = r#"{"a": [1, 2]}"#.to_owned();
    for (raw, outlined) in [(&object, true), (&array, true), (&small, false)] {
        for op in ["span_create", "content_replace"] {
            let text = format!(
                r#"{{"id":"1","process":"p","ts":1,"op":"{op}","trace":"t","span":"s","kind":"json","content": {raw} }}"#
            );
            let event = decode_event(0, &text).unwrap();
            let json = match event.op {
                Op::SpanCreate {
                    content: Content::Json(j),
                    ..
                } => j,
                Op::ContentReplace { content, .. } => content,
                other => panic!("{other:?}"),
            };
            assert_eq!(json.get(), raw.as_str());
            match json.outline() {
                Some(o) => {
                    assert!(outlined, "{op}: a small value is outlined when shown");
                    assert_eq!(without_pages(&o), outline(raw, PAGE), "{op}");
                    members_pages_as_the_model_would(&o, raw);
                }
                None => assert!(!outlined, "{op}: no outline"),
            }
        }
    }
    // The object fits on one page (its members kept); the array does not (only page starts).
    assert_eq!(outline(&object, PAGE).first_page.len(), 3);
    assert_eq!(outline(&array, PAGE).starts.len(), 50);
}

/// `o` without the pages the decoder notes for its large members.
fn without_pages(o: &user_trace_model::json::Outline) -> user_trace_model::json::Outline {
    let mut o = o.clone();
    for m in &mut o.first_page {
        m.pages.clear();
    }
    o
}

/// The decoder notes the pages of each large member of `raw`'s first page, as the model finds
/// them when that member is expanded; a member that is small or fits on one page has none.
fn members_pages_as_the_model_would(o: &user_trace_model::json::Outline, raw: &str) {
    use user_trace_model::protocol::outline::{OUTLINE_FROM, PAGE};
    for m in &o.first_page {
        let value = m.get(raw.trim()).unwrap().value;
        let want = outline(value, PAGE);
        assert_eq!(m.count, want.count);
        if m.count > PAGE && value.len() >= OUTLINE_FROM {
            assert!(want.starts.len() > 1);
            assert_eq!(m.pages, want.starts, "{}", &value[..40]);
        } else {
            assert!(m.pages.is_empty(), "{} members", m.count);
        }
    }
}

/// Where a large member's pages start, at the edges: exactly one page of members and one
/// more, whitespace and keys before a page's first member, and a member with many members
/// that is too small to be noted (it is read when expanded, as any small value is).
#[test]
fn the_decoder_notes_the_pages_of_large_members_only() {
    use user_trace_model::protocol::outline::{OUTLINE_FROM, PAGE};
    use user_trace_model::protocol::{decode_event, Content, Op};
    let pad = "x".repeat(OUTLINE_FROM / PAGE);
    let item = |i: usize| format!("\"{pad}{i}\"");
    let exact: Vec<String> = (0..PAGE).map(item).collect();
    let more: Vec<String> = (0..=PAGE)
        .map(|i| format!("\"k{i}\" :\n {}", item(i)))
        .collect();
    let spaced: Vec<String> = (0..3 * PAGE + 7).map(item).collect();
    let few: Vec<String> = (0..3 * PAGE).map(|i| i.to_string()).collect();
    let raw = format!(
        "{{\"exact\": [{}], \"more\": {{ {} }}, \"spaced\": [ {} ], \"few\": [{}], \"s\": 1}}",
        exact.join(","),
        more.join(" , "),
        spaced.join(" ,\n\t"),
        few.join(",")
    );
    let text = format!(
        r#"{{"id":"1","process":"p","ts":1,"op":"span_create","trace":"t","span":"s","kind":"json","content": {raw} }}"#
    );
    let Op::SpanCreate {
        content: Content::Json(json),
        ..
    } = decode_event(0, &text).unwrap().op
    else {
        panic!("a JSON span");
    };
    let o = json.outline().expect("a large value is outlined");
    members_pages_as_the_model_would(&o, &raw);
    let noted: Vec<usize> = o.first_page.iter().map(|m| m.pages.len()).collect();
    assert_eq!(noted, [0, 2, 4, 0, 0], "exact, more, spaced, few, s");
}

/// PROTOCOL.md: an object with a repeated key keeps each member, in order (the panel shows
/// both rows; nothing picks a winner).
#[test]
fn a_repeated_key_keeps_each_member_in_order() {
    let m: Vec<_> = members(r#"{"k":1,"j":0,"k":2}"#)
        .map(|m| (m.key.unwrap(), m.value))
        .collect();
    assert_eq!(m, vec![("\"k\"", "1"), ("\"j\"", "0"), ("\"k\"", "2")]);
    assert_eq!(count(r#"{"k":1,"k":2}"#), 2);
}
