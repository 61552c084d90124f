//! Routes as API Gateway knows them: a method (or `ANY`) and a resource path whose
//! segments are literals, `{name}` parameters (one segment) or a final greedy
//! `{name+}` (one segment or more).
//!
//! A route is found by its template, exactly: the key of `GET /catalog/{entityId}` is
//! `GET` and the shape `/catalog/{}`, so the client API may name its parameters as it
//! likes. Only a TOKEN event, which carries the called path instead of the route,
//! needs [`Segment::matches`] to find the route a path belongs to.

/// The methods a route may name; `ANY` covers every method.
pub const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Literal(String),
    Param,
    Greedy,
}

/// Why a route path is not an API Gateway resource path.
pub fn path_problem(path: &str) -> Option<&'static str> {
    if path == "/" {
        return None;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Some("a path starts with /");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let mut names = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        if segment.is_empty() {
            return Some("a path has no empty segment (no // and no trailing /)");
        }
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                let (name, greedy) = match name.strip_suffix('+') {
                    Some(name) => (name, true),
                    None => (name, false),
                };
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                {
                    return Some(
                        "a parameter is {name} or {name+}, name of letters, digits, _ - .",
                    );
                }
                if greedy && i + 1 != segments.len() {
                    return Some("a greedy {name+} parameter is the last segment");
                }
                if names.contains(&name) {
                    return Some("a parameter name appears once per path");
                }
                names.push(name);
            }
            None => {
                if segment.contains(['{', '}', '*', '?', '#', ' ', '\t']) {
                    return Some(
                        "a segment is a literal or a whole {name} / {name+} parameter (no *, ?, #, spaces or partial braces)",
                    );
                }
            }
        }
    }
    None
}

/// The segments of a valid route path (`/` has none).
pub fn segments(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if name.ends_with('+') => Segment::Greedy,
                Some(_) => Segment::Param,
                None => Segment::Literal(segment.to_owned()),
            },
        )
        .collect()
}

/// The path with its parameter names left out: `/catalog/{entityId}` → `/catalog/{}`,
/// `/files/{path+}` → `/files/{+}`. Two routes with one shape are one route.
pub fn shape(path: &str) -> String {
    let parts: Vec<String> = segments(path)
        .into_iter()
        .map(|segment| match segment {
            Segment::Literal(text) => text,
            Segment::Param => "{}".to_owned(),
            Segment::Greedy => "{+}".to_owned(),
        })
        .collect();
    format!("/{}", parts.join("/"))
}

/// The route's part of an execute-api resource ARN, after the stage: `METHOD/path`
/// with `*` for every parameter. Used only with identity sources that include the
/// route, so a policy is applied to calls of this one route and the `*` cannot reach
/// another route's calls.
pub fn resource_suffix(method: &str, path: &str) -> String {
    let parts: Vec<String> = segments(path)
        .into_iter()
        .map(|segment| match segment {
            Segment::Literal(text) => text,
            Segment::Param | Segment::Greedy => "*".to_owned(),
        })
        .collect();
    format!("{method}/{}", parts.join("/"))
}

/// Whether the called path (its segments, already split) fits the route's segments,
/// and how specifically: API Gateway prefers literals to parameters to a greedy
/// parameter, segment by segment from the left.
pub fn match_rank(route: &[Segment], called: &[&str]) -> Option<Vec<u8>> {
    let mut rank = Vec::with_capacity(route.len());
    for (i, segment) in route.iter().enumerate() {
        match segment {
            Segment::Greedy => {
                return (called.len() > i).then(|| {
                    rank.push(0);
                    rank
                });
            }
            Segment::Param => {
                if called.get(i).is_none_or(|s| s.is_empty()) {
                    return None;
                }
                rank.push(1);
            }
            Segment::Literal(text) => {
                if called.get(i) != Some(&text.as_str()) {
                    return None;
                }
                rank.push(2);
            }
        }
    }
    (called.len() == route.len()).then_some(rank)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_ignore_parameter_names() {
        assert_eq!(shape("/catalog/{entityId}"), "/catalog/{}");
        assert_eq!(shape("/catalog/{id}"), shape("/catalog/{entityId}"));
        assert_eq!(shape("/files/{path+}"), "/files/{+}");
        assert_eq!(shape("/"), "/");
        assert_ne!(shape("/a/{x}"), shape("/a/{x+}"));
    }

    #[test]
    fn bad_paths_are_named() {
        for good in [
            "/",
            "/a",
            "/a/{b}/c",
            "/a/{proxy+}",
            "/a/b-c.d_e",
            "/x/{a.b-c_d}",
        ] {
            assert_eq!(path_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "a",
            "/a/",
            "//a",
            "/a/{b+}/c",
            "/a/{}",
            "/a/x{b}",
            "/a/*",
            "/a/?",
            "/a/{b}/{b}",
            "/a b",
        ] {
            assert!(path_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn resources_put_a_star_for_each_parameter() {
        assert_eq!(resource_suffix("GET", "/catalog/{id}"), "GET/catalog/*");
        assert_eq!(resource_suffix("POST", "/a/{x}/b/{rest+}"), "POST/a/*/b/*");
        assert_eq!(resource_suffix("GET", "/"), "GET/");
    }

    #[test]
    fn a_parameter_is_one_segment_and_only_greedy_reaches_deeper() {
        let one = segments("/catalog/{id}");
        assert!(match_rank(&one, &["catalog", "x"]).is_some());
        assert!(match_rank(&one, &["catalog", "x", "y"]).is_none());
        assert!(match_rank(&one, &["catalog", ""]).is_none());
        assert!(match_rank(&one, &["catalog"]).is_none());
        let greedy = segments("/catalog/{rest+}");
        assert!(match_rank(&greedy, &["catalog", "x", "y"]).is_some());
        assert!(match_rank(&greedy, &["catalog"]).is_none());
        let literal = segments("/catalog/new");
        assert!(match_rank(&literal, &["catalog", "new"]) > match_rank(&one, &["catalog", "new"]));
        assert!(match_rank(&one, &["catalog", "new"]) > match_rank(&greedy, &["catalog", "new"]));
        assert_eq!(match_rank(&segments("/"), &[]), Some(vec![]));
    }
}
