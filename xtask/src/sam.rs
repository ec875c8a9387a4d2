//! The SAM resources of each function (the function, its route's integration, route and
//! permission, its log group) as typed YAML values, written by serde_norway. CloudFormation's
//! short intrinsics (`!Ref`, `!GetAtt`, `!Sub`) are YAML tags.

use serde_norway::{
    Mapping, Value,
    value::{Tag, TaggedValue},
};

use serde_json::json;

use crate::generate::{Function, Trigger, pascal};

/// A YAML mapping in the order written: `map! { "Key" => value, ... }`.
macro_rules! map {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = Mapping::new();
        $(m.insert(Value::from($k), Value::from($v));)*
        Value::Mapping(m)
    }};
}

fn tagged(tag: &str, value: impl Into<Value>) -> Value {
    Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(tag),
        value: value.into(),
    }))
}

pub(crate) fn cfn_ref(name: impl Into<String>) -> Value {
    tagged("Ref", name.into())
}

pub(crate) fn get_att(path: impl Into<String>) -> Value {
    tagged("GetAtt", path.into())
}

pub(crate) fn sub(text: impl Into<String>) -> Value {
    tagged("Sub", text.into())
}

fn list<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> Value {
    Value::Sequence(items.into_iter().map(Into::into).collect())
}

/// A checkov skip with the reason it does not apply.
fn skip(id: &str, comment: &str) -> Value {
    map! { "id" => id, "comment" => comment }
}

const SKIPS: [(&str, &str); 3] = [
    (
        "CKV_AWS_117",
        "No VPC: DynamoDB and S3 are reached through AWS endpoints; a VPC adds NAT cost and cold-start time.",
    ),
    (
        "CKV_AWS_115",
        "Concurrency is bounded by the API stage throttle; reserving it per function starves small accounts.",
    ),
    (
        "CKV_AWS_173",
        "Environment encrypted at rest with the AWS managed key; a CMK would cost money while idle.",
    ),
];

/// `users` -> `UsersTable`
fn table_logical(table: &str) -> String {
    format!("{}Table", pascal(table))
}

/// `/products/{id}/image` -> `/products/*/image`: the route's path in an execute-api ARN.
pub fn arn_path(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "*" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// What the functions may touch in the images bucket: the pictures and the admins' uploads.
pub const IMAGE_PREFIXES: [&str; 2] = [
    shop::catalog::pictures::PICTURE_PREFIX,
    shop::catalog::pictures::UPLOAD_PREFIX,
];

/// Every resource of function `f`, by logical id, in the order written.
pub fn resources(f: &Function) -> Vec<(String, Value)> {
    let l = pascal(&f.name);
    let mut out = vec![(format!("{l}Function"), function(f, &l))];
    if let Some((method, path)) = f.http() {
        out.extend(http_route(&l, method, path));
    }
    out.push((
        format!("{l}Logs"),
        map! {
            "Type" => "AWS::Logs::LogGroup",
            "Metadata" => map! { "checkov" => map! { "skip" => list([skip(
                "CKV_AWS_158",
                "Encrypted at rest by CloudWatch Logs; a CMK would cost money while idle.",
            )]) } },
            "Properties" => map! {
                "LogGroupName" => sub(format!("/aws/lambda/${{AWS::StackName}}-{}", f.name)),
                "RetentionInDays" => cfn_ref("LogRetentionDays"),
            },
        },
    ));
    out
}

/// The function itself: build, checkov skips, memory, logs, trigger and policy.
fn function(f: &Function, l: &str) -> Value {
    let dlq = match f.trigger {
        Trigger::Http { .. } => Some(
            "Invoked synchronously by API Gateway; a DLQ only applies to asynchronous invocations.",
        ),
        Trigger::Schedule(_) => Some(
            "A scheduled job: a failed run is simply run again by the next tick, so nothing waits in a DLQ.",
        ),
        Trigger::Stream(_) => Some(
            "Invoked synchronously by its event source mapping, whose on-failure destination is the outbox DLQ.",
        ),
        Trigger::Rules(_) | Trigger::Uploads(_) => None,
    };
    let skips = dlq
        .map(|why| skip("CKV_AWS_116", why))
        .into_iter()
        .chain(SKIPS.iter().map(|(id, why)| skip(id, why)));
    let mut props = Mapping::new();
    props.insert("Description".into(), f.route().into());
    props.insert("MemorySize".into(), f.memory.into());
    if let Some(n) = f.concurrency {
        props.insert("ReservedConcurrentExecutions".into(), u64::from(n).into());
    }
    props.insert(
        "LoggingConfig".into(),
        map! { "LogGroup" => cfn_ref(format!("{l}Logs")) },
    );
    if f.is_async() {
        // EventBridge invokes asynchronously: Lambda retries a failed event twice, then parks it.
        props.insert(
            "EventInvokeConfig".into(),
            map! { "MaximumRetryAttempts" => 2 },
        );
        props.insert(
            "DeadLetterQueue".into(),
            map! { "Type" => "SQS", "TargetArn" => get_att("EventsDeadLetterQueue.Arn") },
        );
    }
    let events = events(f);
    if !events.is_empty() {
        props.insert("Events".into(), Value::Mapping(events));
    }
    props.insert(
        "Policies".into(),
        list([map! { "Statement" => list(statements(f)) }]),
    );
    map! {
        "Type" => "AWS::Serverless::Function",
        "Metadata" => map! {
            "BuildMethod" => "rust-cargolambda",
            "BuildProperties" => map! { "Binary" => f.name.as_str() },
            "checkov" => map! { "skip" => list(skips) },
        },
        "Properties" => Value::Mapping(props),
    }
}

/// The policy: exactly the manifest's actions, each on its resource.
fn statements(f: &Function) -> Vec<Value> {
    let allow = |service: &str, actions: &[String], resource: Value| {
        let actions = list(actions.iter().map(|a| format!("{service}:{a}")));
        map! { "Effect" => "Allow", "Action" => actions, "Resource" => resource }
    };
    let mut out = Vec::new();
    for (table, actions) in &f.dynamodb {
        let resource = match table.strip_suffix(":index") {
            Some(t) => sub(format!("${{{}.Arn}}/index/*", table_logical(t))),
            None => get_att(format!("{}.Arn", table_logical(table))),
        };
        out.push(allow("dynamodb", actions, resource));
    }
    for (prefix, actions) in &f.s3 {
        out.push(allow(
            "s3",
            actions,
            sub(format!("${{ImagesBucket.Arn}}/{prefix}*")),
        ));
    }
    if !f.site.is_empty() {
        out.push(allow("s3", &f.site, sub("${SiteBucket.Arn}/*")));
    }
    if let Some(o) = f.stream() {
        let read = ["DescribeStream", "GetRecords", "GetShardIterator"].map(String::from);
        for source in &o.sources {
            let arn = get_att(format!("{}.StreamArn", table_logical(&source.table)));
            out.push(allow("dynamodb", &read, arn));
        }
        // Not restrictable to a resource.
        out.push(allow("dynamodb", &["ListStreams".into()], "*".into()));
    }
    if !f.events.is_empty() {
        out.push(allow("events", &f.events, get_att("EventBus.Arn")));
    }
    if !f.ses.is_empty() {
        let identities =
            sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*");
        let mut statement = allow("ses", &f.ses, identities);
        // Only as the configured sender.
        if let Value::Mapping(m) = &mut statement {
            m.insert(
                "Condition".into(),
                map! { "StringEquals" => map! { "ses:FromAddress" => cfn_ref("EmailFrom") } },
            );
        }
        out.push(statement);
    }
    out
}

/// A function's `Events`: its schedule, its table streams (one mapping each) or its rules.
fn events(f: &Function) -> Mapping {
    let mut out = Mapping::new();
    match &f.trigger {
        Trigger::Http { .. } => {}
        Trigger::Schedule(expr) => {
            out.insert(
                "Schedule".into(),
                map! {
                    "Type" => "Schedule",
                    "Properties" => map! {
                        "Schedule" => expr.as_str(),
                        "RetryPolicy" => map! { "MaximumRetryAttempts" => 0 },
                    },
                },
            );
        }
        Trigger::Stream(o) => {
            for src in &o.sources {
                let t = table_logical(&src.table);
                let properties = map! {
                    "Stream" => get_att(format!("{t}.StreamArn")),
                    "StartingPosition" => "TRIM_HORIZON",
                    "BatchSize" => o.batch_size,
                    "MaximumBatchingWindowInSeconds" => 1,
                    "BisectBatchOnFunctionError" => true,
                    "MaximumRetryAttempts" => o.retries,
                    "FunctionResponseTypes" => list(["ReportBatchItemFailures"]),
                    "DestinationConfig" => map! { "OnFailure" => map! {
                        "Type" => "SQS",
                        "Destination" => get_att("OutboxDeadLetterQueue.Arn"),
                    } },
                    "FilterCriteria" => map! { "Filters" => list([map! {
                        "Pattern" => src.pattern().to_string(),
                    }]) },
                };
                out.insert(
                    format!("{t}Stream").into(),
                    map! { "Type" => "DynamoDB", "Properties" => properties },
                );
            }
        }
        Trigger::Rules(rules) => {
            for (rule, pattern) in rules {
                let pattern: Value =
                    serde_norway::to_value(pattern).expect("a JSON pattern is a YAML value");
                out.insert(
                    pascal(rule).into(),
                    event_rule(Some(cfn_ref("EventBus")), pattern),
                );
            }
        }
        Trigger::Uploads(prefix) => {
            // S3 sends its notifications to the account's default bus.
            let pattern = crate::generate::upload_pattern(json!("BUCKET"), prefix);
            let mut pattern: Value =
                serde_norway::to_value(pattern).expect("a JSON pattern is a YAML value");
            pattern["detail"]["bucket"]["name"] = list([cfn_ref("ImagesBucket")]);
            out.insert("Uploads".into(), event_rule(None, pattern));
        }
    }
    out
}

/// An EventBridge rule's event on `bus` (the account's default bus when `None`): EventBridge retries
/// delivery for an hour, then parks the event in the events DLQ.
fn event_rule(bus: Option<Value>, pattern: Value) -> Value {
    let mut properties = Mapping::new();
    if let Some(bus) = bus {
        properties.insert("EventBusName".into(), bus);
    }
    properties.insert("Pattern".into(), pattern);
    properties.insert(
        "RetryPolicy".into(),
        map! { "MaximumRetryAttempts" => 8, "MaximumEventAgeInSeconds" => 3600 },
    );
    properties.insert(
        "DeadLetterConfig".into(),
        map! { "Arn" => get_att("EventsDeadLetterQueue.Arn") },
    );
    map! { "Type" => "EventBridgeRule", "Properties" => Value::Mapping(properties) }
}

/// The integration, route and invoke permission of an HTTP function. The route is written out
/// rather than as a SAM `HttpApi` event: the functions' environment names the CloudFront domain,
/// the distribution has the API as an origin, and SAM's events would make the API depend on the
/// functions (a cycle). The API calls the `live` alias.
fn http_route(l: &str, method: &str, path: &str) -> Vec<(String, Value)> {
    let integration = format!("{l}Integration");
    vec![
        (
            integration.clone(),
            map! {
                "Type" => "AWS::ApiGatewayV2::Integration",
                "Properties" => map! {
                    "ApiId" => cfn_ref("HttpApi"),
                    "IntegrationType" => "AWS_PROXY",
                    "IntegrationUri" => cfn_ref(format!("{l}Function.Alias")),
                    "PayloadFormatVersion" => "2.0",
                },
            },
        ),
        (
            format!("{l}Route"),
            map! {
                "Type" => "AWS::ApiGatewayV2::Route",
                "Metadata" => map! { "checkov" => map! { "skip" => list([skip(
                    "CKV_AWS_309",
                    "Authorization is done in the functions (JWT with revocation); public routes are public by design.",
                )]) } },
                "Properties" => map! {
                    "ApiId" => cfn_ref("HttpApi"),
                    "RouteKey" => format!("{method} {path}"),
                    "Target" => sub(format!("integrations/${{{integration}}}")),
                },
            },
        ),
        (
            format!("{l}Permission"),
            map! {
                "Type" => "AWS::Lambda::Permission",
                "Properties" => map! {
                    "Action" => "lambda:InvokeFunction",
                    "FunctionName" => cfn_ref(format!("{l}Function.Alias")),
                    "Principal" => "apigateway.amazonaws.com",
                    "SourceArn" => sub(format!(
                        "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{HttpApi}}/*/{method}{}",
                        arn_path(path)
                    )),
                },
            },
        ),
    ]
}

/// Function `f`'s resources as the lines of template.yaml's `Resources` (indented two spaces).
/// The one thing not from the serializer: the reason for the memory size, as a comment on its
/// line (YAML values carry no comments).
pub fn block(f: &Function) -> String {
    let mut m = Mapping::new();
    for (id, value) in resources(f) {
        m.insert(id.into(), value);
    }
    let yaml = serde_norway::to_string(&Value::Mapping(m)).expect("YAML values serialise");
    let memory_line = format!("MemorySize: {}", f.memory);
    let mut out = String::new();
    for line in yaml.lines() {
        out.push_str("  ");
        out.push_str(line);
        if let (Some(note), true) = (&f.memory_note, line.trim() == memory_line) {
            out.push_str("  # ");
            out.push_str(note);
        }
        out.push('\n');
    }
    out
}
