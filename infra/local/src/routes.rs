//! The routing table: API Gateway resource paths (`/tokens/{id}`, `/files/{path+}`)
//! matched against request paths, with API Gateway's precedence (a literal segment
//! beats a `{param}`, which beats a greedy `{param+}`).

use percent_encoding::percent_decode_str;

use crate::sam::RouteDef;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

/// One API Gateway resource (path) and the methods defined on it.
#[derive(Debug, Clone)]
pub struct Resource {
    pub path: String,
    segments: Vec<Segment>,
    pub methods: Vec<RouteDef>,
}

#[derive(Debug)]
pub enum Lookup<'a> {
    /// A method defined on a matching resource, with decoded path parameters.
    Found {
        route: &'a RouteDef,
        resource: &'a Resource,
        params: Vec<(String, String)>,
    },
    /// The path matches a resource that does not define this method.
    MethodMissing,
    /// No resource matches the path.
    NoResource,
}

#[derive(Debug, Clone, Default)]
pub struct Router {
    resources: Vec<Resource>,
}

impl Router {
    pub fn new(routes: &[RouteDef]) -> Self {
        let mut resources: Vec<Resource> = Vec::new();
        for route in routes {
            match resources.iter_mut().find(|r| r.path == route.path) {
                Some(resource) => resource.methods.push(route.clone()),
                None => resources.push(Resource {
                    path: route.path.clone(),
                    segments: parse_pattern(&route.path),
                    methods: vec![route.clone()],
                }),
            }
        }
        Router { resources }
    }

    /// Finds the resource for `raw_path` (as received, percent-encoded) and its `method`.
    pub fn lookup(&self, method: &str, raw_path: &str) -> Lookup<'_> {
        let Some(segments) = split_path(raw_path) else {
            return Lookup::NoResource;
        };
        let best = self
            .resources
            .iter()
            .filter_map(|resource| {
                match_segments(&resource.segments, &segments).map(|params| (resource, params))
            })
            .max_by_key(|(resource, _)| specificity(&resource.segments));
        let Some((resource, params)) = best else {
            return Lookup::NoResource;
        };
        let route = resource
            .methods
            .iter()
            .find(|r| r.method == method)
            .or_else(|| resource.methods.iter().find(|r| r.method == "ANY"));
        match route {
            Some(route) => Lookup::Found {
                route,
                resource,
                params,
            },
            None => Lookup::MethodMissing,
        }
    }
}

fn parse_pattern(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) => Segment::Greedy(greedy.to_owned()),
                    None => Segment::Param(name.to_owned()),
                },
                None => Segment::Literal(segment.to_owned()),
            },
        )
        .collect()
}

/// `/a/b` → `["a", "b"]`; `/` → `[]`. A path not starting with `/` matches nothing.
fn split_path(raw_path: &str) -> Option<Vec<&str>> {
    let rest = raw_path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    Some(rest.split('/').collect())
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn match_segments(pattern: &[Segment], path: &[&str]) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    for (i, segment) in pattern.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                let rest = path.get(i..)?;
                if rest.is_empty() || rest.iter().all(|s| s.is_empty()) {
                    return None;
                }
                params.push((name.clone(), decode(&rest.join("/"))));
                return Some(params);
            }
            Segment::Literal(literal) => {
                if decode(path.get(i)?) != *literal {
                    return None;
                }
            }
            Segment::Param(name) => {
                let value = path.get(i)?;
                if value.is_empty() {
                    return None;
                }
                params.push((name.clone(), decode(value)));
            }
        }
    }
    (path.len() == pattern.len()).then_some(params)
}

/// Higher is more specific, compared segment by segment.
fn specificity(pattern: &[Segment]) -> Vec<u8> {
    pattern
        .iter()
        .map(|s| match s {
            Segment::Literal(_) => 3,
            Segment::Param(_) => 2,
            Segment::Greedy(_) => 1,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> RouteDef {
        RouteDef {
            event: format!("{method}{path}"),
            function: "F".into(),
            binary: "b".into(),
            method: method.into(),
            path: path.into(),
            authorizer: None,
            timeout_seconds: 3,
        }
    }

    fn router() -> Router {
        Router::new(&[
            route("GET", "/tokens"),
            route("POST", "/tokens"),
            route("DELETE", "/tokens/{id}"),
            route("GET", "/catalog/{entityId}"),
            route("GET", "/catalog/special"),
            route("ANY", "/files/{path+}"),
            route("GET", "/"),
        ])
    }

    fn found(router: &Router, method: &str, path: &str) -> Option<(String, Vec<(String, String)>)> {
        match router.lookup(method, path) {
            Lookup::Found { route, params, .. } => Some((route.path.clone(), params)),
            _ => None,
        }
    }

    #[test]
    fn literal_and_parameter_paths_match() {
        let r = router();
        assert_eq!(
            found(&r, "GET", "/tokens"),
            Some(("/tokens".into(), vec![]))
        );
        assert_eq!(
            found(&r, "DELETE", "/tokens/01JABC"),
            Some(("/tokens/{id}".into(), vec![("id".into(), "01JABC".into())]))
        );
        assert_eq!(found(&r, "GET", "/"), Some(("/".into(), vec![])));
    }

    #[test]
    fn parameters_are_percent_decoded_and_stay_in_one_segment() {
        let r = router();
        assert_eq!(
            found(&r, "GET", "/catalog/a%2Fb%20c"),
            Some((
                "/catalog/{entityId}".into(),
                vec![("entityId".into(), "a/b c".into())]
            ))
        );
        assert!(found(&r, "GET", "/catalog/a/b").is_none());
    }

    #[test]
    fn literals_beat_parameters_and_greedy_takes_the_rest() {
        let r = router();
        assert_eq!(
            found(&r, "GET", "/catalog/special").unwrap().0,
            "/catalog/special"
        );
        assert_eq!(
            found(&r, "GET", "/catalog/other").unwrap().0,
            "/catalog/{entityId}"
        );
        assert_eq!(
            found(&r, "PATCH", "/files/a/b/c.txt"),
            Some((
                "/files/{path+}".into(),
                vec![("path".into(), "a/b/c.txt".into())]
            ))
        );
        assert!(found(&r, "GET", "/files").is_none());
    }

    #[test]
    fn missing_methods_resources_and_empty_segments() {
        let r = router();
        assert!(matches!(r.lookup("PUT", "/tokens"), Lookup::MethodMissing));
        assert!(matches!(r.lookup("GET", "/nope"), Lookup::NoResource));
        assert!(matches!(r.lookup("DELETE", "/tokens/"), Lookup::NoResource));
        assert!(matches!(r.lookup("GET", "/tokens/x/y"), Lookup::NoResource));
        assert!(matches!(r.lookup("GET", "tokens"), Lookup::NoResource));
    }
}
