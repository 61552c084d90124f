//! Generic CloudFormation evaluation of a template: YAML with short-form tags
//! normalised to their long form, parameters (defaults, overrides, AllowedValues,
//! MinValue/MaxValue), conditions, and the intrinsic functions `Ref`, `Fn::Sub`,
//! `Fn::If`, `Fn::GetAtt`, `Fn::Join`. Resources whose condition is false are left
//! out, as CloudFormation would. What a SAM template declares is read by [`crate::sam`].

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

#[derive(Debug)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template.yaml: {}", self.0)
    }
}

impl std::error::Error for TemplateError {}

pub(crate) fn err<T>(message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(message.into()))
}

/// Values of the pseudo parameters (`AWS::Region`, ...) and the physical names of
/// resources that `Ref` resolves to locally.
#[derive(Debug, Clone)]
pub struct LocalContext {
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    /// Physical name of the DynamoDB table (`Ref` to the table resource).
    pub table_name: String,
}

impl Default for LocalContext {
    fn default() -> Self {
        LocalContext {
            stack_name: "patgate-local".to_owned(),
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            table_name: "patgate-local".to_owned(),
        }
    }
}

/// Converts YAML to JSON, rewriting short-form intrinsic tags to their long form.
pub fn normalize(yaml: serde_yaml::Value) -> Result<Value, TemplateError> {
    use serde_yaml::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            serde_json::to_value(&n).map_err(|e| TemplateError(format!("bad number {n}: {e}")))?
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(normalize).collect::<Result<_, _>>()?)
        }
        Y::Mapping(mapping) => normalize_mapping(mapping)?,
        Y::Tagged(tagged) => normalize_tagged(*tagged)?,
    })
}

fn normalize_mapping(mapping: serde_yaml::Mapping) -> Result<Value, TemplateError> {
    use serde_yaml::Value as Y;
    let mut map = Map::new();
    for (key, value) in mapping {
        let key = match key {
            Y::String(s) => s,
            Y::Number(n) => n.to_string(),
            Y::Bool(b) => b.to_string(),
            other => return err(format!("unsupported mapping key {other:?}")),
        };
        map.insert(key, normalize(value)?);
    }
    Ok(Value::Object(map))
}

/// `!Ref X` → `{"Ref": X}`, `!Condition C` → `{"Condition": C}`, `!Fn X` → `{"Fn::Fn": X}`.
fn normalize_tagged(tagged: serde_yaml::value::TaggedValue) -> Result<Value, TemplateError> {
    let tag = tagged.tag.to_string();
    let name = tag.trim_start_matches('!');
    let inner = normalize(tagged.value)?;
    let (key, inner) = match name {
        "Ref" => ("Ref".to_owned(), inner),
        "Condition" => ("Condition".to_owned(), inner),
        // `!GetAtt Resource.Attribute` is the string form of `[Resource, Attribute]`.
        "GetAtt" => {
            let inner = match inner {
                Value::String(s) => match s.split_once('.') {
                    Some((resource, attribute)) => {
                        Value::Array(vec![resource.into(), attribute.into()])
                    }
                    None => return err(format!("!GetAtt {s}: expected Resource.Attribute")),
                },
                other => other,
            };
            ("Fn::GetAtt".to_owned(), inner)
        }
        other => (format!("Fn::{other}"), inner),
    };
    let mut map = Map::new();
    map.insert(key, inner);
    Ok(Value::Object(map))
}

/// A template with its parameters and conditions evaluated.
pub struct Template {
    root: Value,
    parameters: BTreeMap<String, String>,
    conditions: BTreeMap<String, bool>,
    context: LocalContext,
}

impl Template {
    /// Parses YAML text and evaluates it with `overrides` (parameter name → value).
    pub fn parse(
        text: &str,
        overrides: &BTreeMap<String, String>,
        context: &LocalContext,
    ) -> Result<Self, TemplateError> {
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|e| TemplateError(format!("invalid YAML: {e}")))?;
        Template::new(normalize(yaml)?, overrides, context)
    }

    pub fn new(
        root: Value,
        overrides: &BTreeMap<String, String>,
        context: &LocalContext,
    ) -> Result<Self, TemplateError> {
        let parameters = parameter_values(&root, overrides)?;
        let mut template = Template {
            root,
            parameters,
            conditions: BTreeMap::new(),
            context: context.clone(),
        };
        template.evaluate_conditions()?;
        template.check_rules()?;
        Ok(template)
    }

    /// The template's `Rules`: each assertion whose rule applies must hold, as
    /// CloudFormation checks before it creates anything.
    fn check_rules(&self) -> Result<(), TemplateError> {
        let Some(rules) = self.root.get("Rules").and_then(Value::as_object) else {
            return Ok(());
        };
        for (name, rule) in rules {
            let applies = match rule.get("RuleCondition") {
                Some(condition) => self.condition(condition)?,
                None => true,
            };
            if !applies {
                continue;
            }
            for assertion in rule
                .get("Assertions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let holds = match assertion.get("Assert") {
                    Some(expression) => self.condition(expression)?,
                    None => true,
                };
                if !holds {
                    let description = assertion
                        .get("AssertDescription")
                        .and_then(Value::as_str)
                        .unwrap_or("an assertion failed");
                    return err(format!("rule {name}: {description}"));
                }
            }
        }
        Ok(())
    }

    /// The normalised template.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// Conditions may refer to each other: evaluates until every one is known.
    fn evaluate_conditions(&mut self) -> Result<(), TemplateError> {
        let conditions = self
            .root
            .get("Conditions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut pending: Vec<(String, Value)> = conditions.into_iter().collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut still = Vec::new();
            for (name, expression) in pending {
                match self.condition(&expression) {
                    Ok(value) => {
                        self.conditions.insert(name, value);
                    }
                    Err(_) => still.push((name, expression)),
                }
            }
            if still.len() == before {
                let (name, expression) = &still[0];
                self.condition(expression)
                    .map_err(|e| TemplateError(format!("condition {name}: {}", e.0)))?;
            }
            pending = still;
        }
        Ok(())
    }

    /// The resources that exist (a resource whose Condition is false does not).
    pub fn resources(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.root
            .get("Resources")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|resources| resources.iter())
            .filter(
                |(_, resource)| match resource.get("Condition").and_then(Value::as_str) {
                    Some(name) => self.conditions.get(name).copied().unwrap_or(false),
                    None => true,
                },
            )
    }

    /// The resources of type `kind` that exist.
    pub fn resources_of<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
        self.resources()
            .filter(move |(_, r)| Self::resource_type(r) == kind)
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.resources()
            .find(|(id, _)| id.as_str() == logical_id)
            .map(|(_, r)| r)
    }

    pub fn resource_type(resource: &Value) -> &str {
        resource.get("Type").and_then(Value::as_str).unwrap_or("")
    }

    /// Evaluates a condition expression (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`).
    fn condition(&self, expression: &Value) -> Result<bool, TemplateError> {
        let Some((function, args)) = single_key(expression) else {
            return match expression {
                Value::Bool(b) => Ok(*b),
                other => err(format!("unsupported condition {other}")),
            };
        };
        let list = || {
            args.as_array()
                .cloned()
                .ok_or_else(|| TemplateError(format!("{function} needs a list")))
        };
        match function {
            "Fn::Equals" => {
                let items = list()?;
                if items.len() != 2 {
                    return err("Fn::Equals needs two values");
                }
                Ok(self.string(&items[0])? == self.string(&items[1])?)
            }
            "Fn::Not" => Ok(!self.condition(
                list()?
                    .first()
                    .ok_or_else(|| TemplateError("Fn::Not needs one condition".into()))?,
            )?),
            "Fn::And" => list()?
                .iter()
                .try_fold(true, |acc, c| Ok(acc & self.condition(c)?)),
            "Fn::Or" => list()?
                .iter()
                .try_fold(false, |acc, c| Ok(acc | self.condition(c)?)),
            "Condition" => {
                let name = args.as_str().unwrap_or("");
                self.conditions
                    .get(name)
                    .copied()
                    .ok_or_else(|| TemplateError(format!("unknown condition {name}")))
            }
            other => err(format!("unsupported condition function {other}")),
        }
    }

    /// Resolves intrinsic functions in `value`. `Ref AWS::NoValue` resolves to `None`.
    pub fn resolve(&self, value: &Value) -> Result<Option<Value>, TemplateError> {
        if let Some((function, args)) = single_key(value) {
            if let Some(resolved) = self.intrinsic(function, args)? {
                return Ok(resolved);
            }
        }
        Ok(Some(match value {
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    if let Some(resolved) = self.resolve(item)? {
                        out.push(resolved);
                    }
                }
                Value::Array(out)
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, item) in map {
                    if let Some(resolved) = self.resolve(item)? {
                        out.insert(key.clone(), resolved);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }))
    }

    /// One intrinsic function call; `None` for a key this evaluator leaves as it is.
    fn intrinsic(
        &self,
        function: &str,
        args: &Value,
    ) -> Result<Option<Option<Value>>, TemplateError> {
        Ok(Some(match function {
            "Ref" => {
                let name = args
                    .as_str()
                    .ok_or_else(|| TemplateError("Ref needs a name".into()))?;
                let value = self.reference(name)?;
                if self.parameter_type(name) == Some("CommaDelimitedList") {
                    // A list parameter is a list of its comma-separated values.
                    value.map(|v| {
                        Value::Array(
                            v.split(',')
                                .map(|s| Value::String(s.trim().to_owned()))
                                .collect(),
                        )
                    })
                } else {
                    value.map(Value::String)
                }
            }
            "Fn::Sub" => Some(Value::String(self.sub(args)?)),
            "Fn::If" => {
                let items = args
                    .as_array()
                    .filter(|a| a.len() == 3)
                    .ok_or_else(|| TemplateError("Fn::If needs [condition, then, else]".into()))?;
                let name = items[0].as_str().unwrap_or("");
                let chosen = match self.conditions.get(name) {
                    Some(true) => &items[1],
                    Some(false) => &items[2],
                    None => return err(format!("Fn::If: unknown condition {name}")),
                };
                self.resolve(chosen)?
            }
            "Fn::GetAtt" => {
                let parts: Vec<String> = match args {
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect(),
                    Value::String(s) => s.split('.').map(str::to_owned).collect(),
                    _ => vec![],
                };
                Some(Value::String(format!("local:{}", parts.join("."))))
            }
            "Fn::Join" => Some(Value::String(self.join(args)?)),
            "Fn::Split" => {
                let items = args
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| TemplateError("Fn::Split needs [delimiter, string]".into()))?;
                let delimiter = items[0]
                    .as_str()
                    .filter(|d| !d.is_empty())
                    .ok_or_else(|| TemplateError("Fn::Split needs a delimiter".into()))?;
                let text = self.string(&items[1])?;
                Some(Value::Array(
                    text.split(delimiter)
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                ))
            }
            "Fn::Select" => {
                let items = args
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| TemplateError("Fn::Select needs [index, list]".into()))?;
                let index = self
                    .string(&items[0])?
                    .parse::<usize>()
                    .map_err(|_| TemplateError("Fn::Select needs a whole index".into()))?;
                let list = match self.resolve(&items[1])? {
                    Some(Value::Array(list)) => list,
                    _ => return err("Fn::Select needs a list"),
                };
                // CloudFormation fails the stack on an index past the end: so does this.
                let chosen = list
                    .get(index)
                    .ok_or_else(|| TemplateError(format!("Fn::Select: no item {index}")))?;
                self.resolve(chosen)?
            }
            _ => return Ok(None),
        }))
    }

    fn join(&self, args: &Value) -> Result<String, TemplateError> {
        let items = args
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or_else(|| TemplateError("Fn::Join needs [sep, list]".into()))?;
        let separator = items[0].as_str().unwrap_or("");
        let parts = match self.resolve(&items[1])? {
            Some(Value::Array(parts)) => parts,
            _ => return err("Fn::Join needs a list"),
        };
        let strings: Vec<String> = parts.iter().filter_map(scalar_string).collect();
        Ok(strings.join(separator))
    }

    /// `value` resolved to a scalar, as a string.
    pub fn string(&self, value: &Value) -> Result<String, TemplateError> {
        match self.resolve(value)? {
            Some(resolved) => scalar_string(&resolved)
                .ok_or_else(|| TemplateError(format!("expected a string, got {resolved}"))),
            None => err("expected a string, got AWS::NoValue"),
        }
    }

    /// `value` resolved to a whole number.
    pub fn number(&self, value: &Value) -> Result<u64, TemplateError> {
        let resolved = self.resolve(value)?.unwrap_or(Value::Null);
        number_of(&resolved)
            .ok_or_else(|| TemplateError(format!("expected a whole number, got {resolved}")))
    }

    pub fn parameter_type(&self, name: &str) -> Option<&str> {
        self.root
            .get("Parameters")
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("Type"))
            .and_then(Value::as_str)
    }

    fn reference(&self, name: &str) -> Result<Option<String>, TemplateError> {
        if let Some(value) = self.parameters.get(name) {
            return Ok(Some(value.clone()));
        }
        let c = &self.context;
        Ok(Some(match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::StackName" => c.stack_name.clone(),
            "AWS::Region" => c.region.clone(),
            "AWS::AccountId" => c.account_id.clone(),
            "AWS::Partition" => "aws".to_owned(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            other => match self.resource(other) {
                Some(resource) if Self::resource_type(resource) == "AWS::DynamoDB::Table" => {
                    c.table_name.clone()
                }
                Some(_) => other.to_owned(),
                // SAM's `!Ref <Function>.Alias` / `.Version` (AutoPublishAlias): the
                // function's alias or version, as `local:<Function>.Alias`.
                None => match other.rsplit_once('.') {
                    Some((function, attribute @ ("Alias" | "Version")))
                        if self.resource(function).is_some_and(|r| {
                            Self::resource_type(r) == "AWS::Serverless::Function"
                        }) =>
                    {
                        format!("local:{function}.{attribute}")
                    }
                    _ => return err(format!("Ref to unknown parameter or resource {other}")),
                },
            },
        }))
    }

    /// `Fn::Sub` with a string: `${Name}` is a parameter, pseudo parameter or resource;
    /// `${Resource.Attribute}` a GetAtt; `${!Literal}` stays literal.
    fn sub(&self, args: &Value) -> Result<String, TemplateError> {
        let (text, variables) = match args {
            Value::String(s) => (s.as_str(), Map::new()),
            Value::Array(items) if items.len() == 2 => (
                items[0]
                    .as_str()
                    .ok_or_else(|| TemplateError("Fn::Sub needs a string".into()))?,
                items[1].as_object().cloned().unwrap_or_default(),
            ),
            _ => return err("Fn::Sub needs a string or [string, variables]"),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| TemplateError(format!("Fn::Sub: unclosed ${{ in {text}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(&self.string(value)?);
            } else if name.contains('.') && !name.starts_with("AWS::") {
                out.push_str(&format!("local:{name}"));
            } else {
                out.push_str(&self.reference(name)?.unwrap_or_default());
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Every declared parameter's value: the override, else its Default; each checked.
fn parameter_values(
    root: &Value,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, TemplateError> {
    let declared = root
        .get("Parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(name) = overrides.keys().find(|name| !declared.contains_key(*name)) {
        let known: Vec<&str> = declared.keys().map(String::as_str).collect();
        return err(format!(
            "unknown parameter {name}; the template declares {}",
            known.join(", ")
        ));
    }
    let mut parameters = BTreeMap::new();
    for (name, declaration) in &declared {
        let value = match (overrides.get(name), declaration.get("Default")) {
            (Some(value), _) => value.clone(),
            (None, Some(default)) => scalar_string(default).ok_or_else(|| {
                TemplateError(format!("parameter {name}: Default must be a scalar"))
            })?,
            (None, None) => {
                return err(format!(
                    "parameter {name} has no Default; pass --param {name}=VALUE"
                ))
            }
        };
        check_parameter(name, declaration, &value)?;
        parameters.insert(name.clone(), value);
    }
    Ok(parameters)
}

/// `{"Fn::X": args}` → ("Fn::X", args).
fn single_key(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (key, args) = map.iter().next()?;
    (key == "Ref" || key == "Condition" || key.starts_with("Fn::")).then_some((key.as_str(), args))
}

pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn number_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `true`, `false`, `"true"` or `"false"`.
pub fn as_bool_loose(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Checks a parameter value against AllowedValues and MinValue/MaxValue, as
/// CloudFormation would before creating anything.
fn check_parameter(name: &str, declaration: &Value, value: &str) -> Result<(), TemplateError> {
    if let Some(allowed) = declaration.get("AllowedValues").and_then(Value::as_array) {
        let allowed: Vec<String> = allowed.iter().filter_map(scalar_string).collect();
        if !allowed.iter().any(|a| a == value) {
            return err(format!(
                "parameter {name}={value}: allowed values are {}",
                allowed.join(", ")
            ));
        }
    }
    if declaration.get("Type").and_then(Value::as_str) == Some("Number") {
        let number: f64 = value
            .parse()
            .map_err(|_| TemplateError(format!("parameter {name}={value}: not a number")))?;
        let bound = |key: &str| declaration.get(key).and_then(Value::as_f64);
        if bound("MinValue").is_some_and(|min| number < min)
            || bound("MaxValue").is_some_and(|max| number > max)
        {
            return err(format!(
                "parameter {name}={value}: must be within {}..={}",
                bound("MinValue").map(|v| v.to_string()).unwrap_or_default(),
                bound("MaxValue").map(|v| v.to_string()).unwrap_or_default()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_of_a_padded_split_reads_a_list_parameter_slot_by_slot() {
        let text =
            "Parameters:\n  L:\n    Type: CommaDelimitedList\n    Default: \"\"\nResources: {}\n";
        let slot = |list: &str, i: usize| {
            let parameters = BTreeMap::from([("L".to_owned(), list.to_owned())]);
            let template = Template::parse(text, &parameters, &LocalContext::default()).unwrap();
            let padded = serde_json::json!({"Fn::Split": [",", {"Fn::Join": ["", [{"Fn::Join": [",", {"Ref": "L"}]}, ",,"]]}]});
            template
                .resolve(&serde_json::json!({"Fn::Select": [i, padded]}))
                .unwrap()
                .unwrap()
        };
        assert_eq!(slot("", 0), "");
        assert_eq!(slot("", 2), "");
        assert_eq!(slot("a,b", 0), "a");
        assert_eq!(slot("a,b", 1), "b");
        assert_eq!(slot("a,b", 2), "");
        assert_eq!(slot("a", 1), "");
    }

    #[test]
    fn short_form_tags_become_long_form() {
        let yaml = "a: !Ref X\nb: !GetAtt T.Arn\nc: !Sub '${X}-y'\nd: !If [C, 1, !Ref AWS::NoValue]\ne: !Equals [!Ref X, 'true']\n";
        let value = normalize(serde_yaml::from_str(yaml).unwrap()).unwrap();
        assert_eq!(value["a"], serde_json::json!({"Ref": "X"}));
        assert_eq!(value["b"], serde_json::json!({"Fn::GetAtt": ["T", "Arn"]}));
        assert_eq!(value["c"], serde_json::json!({"Fn::Sub": "${X}-y"}));
        assert_eq!(
            value["d"],
            serde_json::json!({"Fn::If": ["C", 1, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(
            value["e"],
            serde_json::json!({"Fn::Equals": [{"Ref": "X"}, "true"]})
        );
    }

    #[test]
    fn sub_resolves_parameters_pseudo_parameters_and_literals() {
        let yaml = "Parameters:\n  P: {Type: String, Default: v}\nResources: {}\n";
        let t = Template::parse(yaml, &BTreeMap::new(), &LocalContext::default()).unwrap();
        let value = serde_json::json!({"Fn::Sub": "${P}/${AWS::Region}/${!Keep}/${Api.Arn}"});
        assert_eq!(
            t.resolve(&value).unwrap().unwrap(),
            "v/us-east-1/${Keep}/local:Api.Arn"
        );
        let value = serde_json::json!({"Fn::Sub": ["${X}-${P}", {"X": {"Ref": "P"}}]});
        assert_eq!(t.resolve(&value).unwrap().unwrap(), "v-v");
    }
}
