//! Model name resolution: finds the price table entry for a model name as a
//! client sent it.
//!
//! Every rule turns the name into another exact key; no rule matches by a
//! bare prefix of a key, so `gpt-4o` never resolves to `gpt-4`. For each
//! candidate name, in the caller's order (the response model before the
//! request model), the resolver tries these forms and takes the first key
//! found, comparing keys without regard to case and ignoring surrounding
//! whitespace:
//!
//! 1. The name itself (`gpt-4o-mini-2024-07-18`, `azure/gpt-4o`).
//! 2. The name with leading routing parts removed, one at a time:
//!    - a provider prefix: a first path segment that is a provider in the
//!      table or a known router or SDK prefix (`openai/gpt-4o` → `gpt-4o`,
//!      Google's `models/gemini-2.5-flash` → `gemini-2.5-flash`,
//!      `openrouter/anthropic/claude-sonnet-4-5` → `anthropic/claude-sonnet-4-5`
//!      → `claude-sonnet-4-5`);
//!    - an AWS region segment (`bedrock/us-east-1/anthropic.claude-...`);
//!    - a Bedrock cross-region prefix (`us.`, `eu.`, `apac.`, `global.`, ...);
//!    - a Bedrock model id reduced to the model name
//!      (`anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`);
//!    - the suffix of an OpenAI fine-tuned model
//!      (`ft:gpt-4o-mini-2024-07-18:acme::abc123` → `ft:gpt-4o-mini-2024-07-18`,
//!      which the table prices at fine-tuning rates).
//! 3. The barest of those forms under a first-party provider prefix, in the
//!    order of [`ADDED_PREFIXES`] (`mistral-large-latest` →
//!    `mistral/mistral-large-latest`, Azure's `gpt-35-turbo` →
//!    `azure/gpt-35-turbo`). Then, for a Claude model, its Bedrock model id
//!    (`claude-sonnet-4-20250514` → `anthropic.claude-sonnet-4-20250514-v1:0`).
//!    The table keeps some Claude versions only under Bedrock, which lists
//!    them at Anthropic's prices.
//! 4. Each form of step 2 without a version suffix: `-2024-07-18`,
//!    `-20240718`, `@20240718` (a valid date in 2000–2099) or `-latest`, so a
//!    new dated version prices like its undated alias (`gpt-4o-2099-01-01` →
//!    `gpt-4o`). A dated key that is in the table matches in step 1 first.
//! 5. The barest undated form under a first-party provider prefix or as a
//!    Bedrock model id.
//!
//! With several tables (per-project overrides before the price table), each
//! candidate is tried in every table, in order, before the next candidate.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::price::ModelPrice;
use super::table::PriceTable;

/// Prefixes tried in step 3 and 5: providers that serve their own models, so
/// the price of `P/model` is the price of `model` from its maker. Azure is
/// included for the Azure OpenAI spellings (`gpt-35-turbo`).
pub const ADDED_PREFIXES: &[&str] = &[
    "openai",
    "anthropic",
    "gemini",
    "vertex_ai",
    "xai",
    "mistral",
    "deepseek",
    "cohere",
    "azure",
];

/// Routers and SDK prefixes that clients put before a model name, removed in
/// step 2 in addition to the first path segments of the table's keys.
const ROUTING_PREFIXES: &[&str] = &[
    "openai",
    "anthropic",
    "azure",
    "azure_ai",
    "bedrock",
    "bedrock_converse",
    "converse",
    "vertex_ai",
    "gemini",
    "google",
    "openrouter",
    "litellm_proxy",
    "litellm",
    "models",
];

/// Geography prefixes of Bedrock cross-region inference profiles.
const BEDROCK_GEO_PREFIXES: &[&str] = &[
    "us.", "us-gov.", "eu.", "apac.", "au.", "jp.", "ca.", "global.",
];

/// Model makers whose Bedrock model ids look like `maker.model-v1:0`.
const BEDROCK_MAKERS: &[&str] = &[
    "anthropic.",
    "meta.",
    "amazon.",
    "mistral.",
    "cohere.",
    "ai21.",
    "deepseek.",
    "openai.",
    "qwen.",
    "writer.",
];

/// The table entry that priced a model name, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// Key of the matched entry, as written in the table.
    pub key: String,
    pub price: ModelPrice,
    /// The candidate name that matched, as the client sent it.
    pub candidate: String,
    /// Rules applied to the candidate, in order. Empty for an exact match.
    pub steps: Vec<MatchStep>,
    /// Label of the table that held the entry.
    pub table: String,
}

/// One rule applied while resolving a model name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", content = "text", rename_all = "snake_case")]
pub enum MatchStep {
    /// The key differs from the name only in letter case.
    CaseIgnored,
    ProviderPrefixRemoved(String),
    RegionRemoved(String),
    /// A Bedrock cross-region inference prefix such as `us.`.
    CrossRegionPrefixRemoved(String),
    /// A Bedrock model id's maker and version removed, such as
    /// `anthropic.` and `-v1:0`.
    BedrockIdReduced(String),
    FineTuneSuffixRemoved(String),
    ProviderPrefixAdded(String),
    /// The Bedrock model id tried for a Claude model name.
    BedrockIdFormed(String),
    VersionSuffixRemoved(String),
}

impl fmt::Display for MatchStep {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CaseIgnored => write!(formatter, "letter case ignored"),
            Self::ProviderPrefixRemoved(text) => {
                write!(formatter, "provider prefix {text:?} removed")
            }
            Self::RegionRemoved(text) => write!(formatter, "region {text:?} removed"),
            Self::CrossRegionPrefixRemoved(text) => {
                write!(formatter, "cross-region prefix {text:?} removed")
            }
            Self::BedrockIdReduced(text) => {
                write!(formatter, "Bedrock model id parts {text:?} removed")
            }
            Self::FineTuneSuffixRemoved(text) => {
                write!(formatter, "fine-tuned model suffix {text:?} removed")
            }
            Self::ProviderPrefixAdded(text) => write!(formatter, "provider prefix {text:?} added"),
            Self::BedrockIdFormed(text) => write!(formatter, "Bedrock model id {text:?} tried"),
            Self::VersionSuffixRemoved(text) => {
                write!(formatter, "version suffix {text:?} removed")
            }
        }
    }
}

impl PriceTable {
    /// Finds the entry for the first candidate name that resolves, trying
    /// candidates in order (response model first, then request model) with
    /// the rules in the module documentation. Returns `None` for an
    /// unknown model.
    pub fn resolve(&self, candidates: &[&str]) -> Option<Resolved> {
        resolve_in(&[self], candidates)
    }
}

/// Like [`PriceTable::resolve`], over several tables: for each candidate,
/// each table in order (per-project overrides first).
pub fn resolve_in(tables: &[&PriceTable], candidates: &[&str]) -> Option<Resolved> {
    candidates.iter().find_map(|candidate| {
        let forms = name_forms(candidate, tables);
        tables
            .iter()
            .find_map(|table| first_match(table, candidate, &forms))
    })
}

/// A name to look up and the rules that produced it.
#[derive(Debug, Clone)]
struct Form {
    name: String,
    steps: Vec<MatchStep>,
}

fn first_match(table: &PriceTable, candidate: &str, forms: &[Form]) -> Option<Resolved> {
    forms.iter().find_map(|form| {
        let (key, price) = table.get_ignoring_case(&form.name.to_lowercase())?;
        let mut steps = form.steps.clone();
        if key != form.name {
            steps.push(MatchStep::CaseIgnored);
        }
        Some(Resolved {
            key: key.to_string(),
            price: price.clone(),
            candidate: candidate.to_string(),
            steps,
            table: table.label().to_string(),
        })
    })
}

/// Lists the forms of a name in the order the module documentation gives.
fn name_forms(candidate: &str, tables: &[&PriceTable]) -> Vec<Form> {
    let name = candidate.trim();
    if name.is_empty() {
        return Vec::new();
    }

    let mut stripped = vec![Form {
        name: name.to_string(),
        steps: Vec::new(),
    }];
    while let Some(next) = strip_routing(stripped.last().expect("not empty"), tables) {
        stripped.push(next);
    }
    let undated: Vec<Form> = stripped.iter().filter_map(strip_version).collect();

    let mut forms = stripped.clone();
    forms.extend(with_added_prefixes(stripped.last()));
    forms.extend(undated.iter().cloned());
    forms.extend(with_added_prefixes(undated.last()));
    forms
}

fn with_added_prefixes(form: Option<&Form>) -> Vec<Form> {
    let Some(form) = form else {
        return Vec::new();
    };
    if form.name.contains('/') {
        return Vec::new();
    }
    let mut forms: Vec<Form> = ADDED_PREFIXES
        .iter()
        .map(|prefix| {
            let added = format!("{prefix}/");
            let name = format!("{added}{}", form.name);
            derive(form, name, MatchStep::ProviderPrefixAdded(added))
        })
        .collect();
    if form.name.to_lowercase().starts_with("claude-") {
        let id = format!("anthropic.{}-v1:0", form.name);
        forms.push(derive(form, id.clone(), MatchStep::BedrockIdFormed(id)));
    }
    forms
}

fn derive(form: &Form, name: String, step: MatchStep) -> Form {
    let mut steps = form.steps.clone();
    steps.push(step);
    Form { name, steps }
}

/// Removes one leading routing part (step 2), or returns `None`.
fn strip_routing(form: &Form, tables: &[&PriceTable]) -> Option<Form> {
    let name = form.name.as_str();
    let lowercase = name.to_lowercase();

    if let Some((segment, rest)) = name.split_once('/') {
        let segment_lowercase = segment.to_lowercase();
        let is_provider = ROUTING_PREFIXES.contains(&segment_lowercase.as_str())
            || tables.iter().any(|t| t.has_provider(&segment_lowercase));
        if is_provider && !rest.is_empty() {
            let step = MatchStep::ProviderPrefixRemoved(format!("{segment}/"));
            return Some(derive(form, rest.to_string(), step));
        }
        if is_aws_region(&segment_lowercase) && !rest.is_empty() {
            let step = MatchStep::RegionRemoved(format!("{segment}/"));
            return Some(derive(form, rest.to_string(), step));
        }
        return None;
    }

    if let Some(geo) = BEDROCK_GEO_PREFIXES
        .iter()
        .find(|g| lowercase.starts_with(**g))
    {
        let rest = &name[geo.len()..];
        if rest.contains('.') {
            let step = MatchStep::CrossRegionPrefixRemoved(name[..geo.len()].to_string());
            return Some(derive(form, rest.to_string(), step));
        }
    }
    if let Some(reduced) = reduce_bedrock_id(form) {
        return Some(reduced);
    }
    strip_fine_tune_suffix(form)
}

/// `anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`.
fn reduce_bedrock_id(form: &Form) -> Option<Form> {
    let name = form.name.as_str();
    let lowercase = name.to_lowercase();
    let maker = BEDROCK_MAKERS.iter().find(|m| lowercase.starts_with(**m))?;
    let rest = &name[maker.len()..];
    let model = strip_bedrock_version(rest).unwrap_or(rest);
    if model.is_empty() {
        return None;
    }

    let removed = format!("{}, {}", &name[..maker.len()], &rest[model.len()..]);
    let removed = removed.trim_end_matches(", ").to_string();
    Some(derive(
        form,
        model.to_string(),
        MatchStep::BedrockIdReduced(removed),
    ))
}

/// Returns the id without a trailing `-v<digits>:<digits>`.
fn strip_bedrock_version(id: &str) -> Option<&str> {
    let (head, minor) = id.rsplit_once(':')?;
    let (model, major) = head.rsplit_once("-v")?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (all_digits(minor) && all_digits(major)).then_some(model)
}

/// `ft:gpt-4o-mini-2024-07-18:acme::abc123` → `ft:gpt-4o-mini-2024-07-18`.
fn strip_fine_tune_suffix(form: &Form) -> Option<Form> {
    let name = form.name.as_str();
    if !name.to_lowercase().starts_with("ft:") {
        return None;
    }
    let base_end = name[3..].find(':')? + 3;
    let suffix = name[base_end..].to_string();
    let step = MatchStep::FineTuneSuffixRemoved(suffix);
    Some(derive(form, name[..base_end].to_string(), step))
}

/// AWS region names such as `us-east-1` and `us-gov-west-1`.
fn is_aws_region(segment: &str) -> bool {
    let parts: Vec<&str> = segment.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    let is_word = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    words.len() >= 2
        && words.iter().all(is_word)
        && words[0].len() == 2
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Removes a version suffix (step 4), or returns `None`.
fn strip_version(form: &Form) -> Option<Form> {
    let name = form.name.as_str();
    let suffix_len = version_suffix_len(name)?;
    let (model, suffix) = name.split_at(name.len() - suffix_len);
    if model.is_empty() || model.ends_with('/') {
        return None;
    }
    let step = MatchStep::VersionSuffixRemoved(suffix.to_string());
    Some(derive(form, model.to_string(), step))
}

fn version_suffix_len(name: &str) -> Option<usize> {
    let bytes = name.as_bytes();
    let tail = |len: usize| bytes.len().checked_sub(len).map(|start| &bytes[start..]);

    // -2024-07-18
    if let Some(t) = tail(11)
        && t[0] == b'-'
        && t[5] == b'-'
        && t[8] == b'-'
        && is_date(&t[1..5], &t[6..8], &t[9..11])
    {
        return Some(11);
    }
    // -20240718 or @20240718
    if let Some(t) = tail(9)
        && (t[0] == b'-' || t[0] == b'@')
        && is_date(&t[1..5], &t[5..7], &t[7..9])
    {
        return Some(9);
    }
    if name.to_lowercase().ends_with("-latest") {
        return Some("-latest".len());
    }
    None
}

fn is_date(year: &[u8], month: &[u8], day: &[u8]) -> bool {
    let number = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |value, byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + u32::from(byte - b'0'))
        })
    };
    match (number(year), number(month), number(day)) {
        (Some(year), Some(month), Some(day)) => {
            (2000..=2099).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn resolve(candidates: &[&str]) -> Option<Resolved> {
        PriceTable::embedded().resolve(candidates)
    }

    fn resolved_key(name: &str) -> Option<String> {
        resolve(&[name]).map(|resolved| resolved.key)
    }

    #[test]
    fn resolve_exact_name() {
        let resolved = resolve(&["gpt-4o"]).unwrap();
        assert_eq!(resolved.key, "gpt-4o");
        assert!(resolved.steps.is_empty());
        assert_eq!(resolved.candidate, "gpt-4o");
        assert_eq!(resolved.table, crate::cost::table::EMBEDDED_LABEL);
    }

    #[test]
    fn resolve_dated_key_in_table() {
        let resolved = resolve(&["gpt-4o-mini-2024-07-18"]).unwrap();
        assert_eq!(resolved.key, "gpt-4o-mini-2024-07-18");
        assert!(resolved.steps.is_empty());
        // gpt-4o-2024-05-13 has its own, higher price than gpt-4o.
        let old = resolve(&["gpt-4o-2024-05-13"]).unwrap();
        assert_eq!(old.key, "gpt-4o-2024-05-13");
        assert_eq!(old.price.input, dec!(0.000005));
    }

    #[test]
    fn resolve_unknown_dated_version() {
        for (name, suffix) in [
            ("gpt-4o-2099-01-31", "-2099-01-31"),
            ("gpt-4o-20990131", "-20990131"),
            ("gpt-4o@20990131", "@20990131"),
            ("gpt-4o-latest", "-latest"),
        ] {
            let resolved = resolve(&[name]).unwrap();
            assert_eq!(resolved.key, "gpt-4o", "{name}");
            assert_eq!(
                resolved.steps,
                vec![MatchStep::VersionSuffixRemoved(suffix.to_string())],
                "{name}"
            );
        }
    }

    #[test]
    fn resolve_rejects_invalid_date_suffix() {
        assert_eq!(resolved_key("gpt-4o-2099-13-01"), None);
        assert_eq!(resolved_key("gpt-4o-12345678"), None);
    }

    #[test]
    fn resolve_never_loose_prefix() {
        assert_eq!(resolved_key("gpt-4o").as_deref(), Some("gpt-4o"));
        assert_eq!(resolved_key("gpt-4o-turbo-ultra"), None);
        assert_eq!(resolved_key("gpt-4-nonexistent"), None);
        assert_eq!(resolved_key("gpt"), None);
        // The dated form of gpt-4o must not fall back to gpt-4.
        assert_eq!(resolved_key("gpt-4o-2099-01-01").as_deref(), Some("gpt-4o"));
    }

    #[test]
    fn resolve_provider_prefix_removed() {
        let resolved = resolve(&["openai/gpt-4o-mini-2024-07-18"]).unwrap();
        assert_eq!(resolved.key, "gpt-4o-mini-2024-07-18");
        assert_eq!(
            resolved.steps,
            vec![MatchStep::ProviderPrefixRemoved("openai/".to_string())]
        );

        let claude = resolve(&["anthropic/claude-sonnet-4-5-20250929"]).unwrap();
        assert_eq!(claude.key, "claude-sonnet-4-5-20250929");

        let routed = resolve(&["openrouter/anthropic/claude-sonnet-4-5"]).unwrap();
        assert_eq!(routed.key, "claude-sonnet-4-5");
        assert_eq!(routed.steps.len(), 2);
    }

    #[test]
    fn resolve_prefixed_key_in_table() {
        let resolved = resolve(&["azure/gpt-4o"]).unwrap();
        assert_eq!(resolved.key, "azure/gpt-4o");
        assert!(resolved.steps.is_empty());
    }

    #[test]
    fn resolve_provider_prefix_added() {
        let resolved = resolve(&["gpt-35-turbo"]).unwrap();
        assert_eq!(resolved.key, "azure/gpt-35-turbo");
        assert_eq!(
            resolved.steps,
            vec![MatchStep::ProviderPrefixAdded("azure/".to_string())]
        );
        let mistral = resolved_key("mistral-large-latest");
        assert_eq!(mistral.as_deref(), Some("mistral/mistral-large-latest"));
        let gemini = resolve(&["models/gemini-2.5-flash"]).unwrap();
        assert_eq!(gemini.key, "gemini-2.5-flash");
        assert_eq!(
            gemini.steps,
            vec![MatchStep::ProviderPrefixRemoved("models/".to_string())]
        );
    }

    #[test]
    fn resolve_azure_dated_keeps_provider() {
        let resolved = resolve(&["azure/gpt-4o-2099-01-01"]).unwrap();
        assert_eq!(resolved.key, "azure/gpt-4o");
    }

    #[test]
    fn resolve_bedrock_ids() {
        let exact = resolve(&["us.anthropic.claude-sonnet-4-5-20250929-v1:0"]).unwrap();
        assert_eq!(exact.key, "us.anthropic.claude-sonnet-4-5-20250929-v1:0");

        let regional = resolve(&["bedrock/us-east-1/anthropic.claude-sonnet-4-5-20250929-v1:0"]);
        let regional = regional.unwrap();
        assert_eq!(regional.key, "anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert_eq!(
            regional.steps,
            vec![
                MatchStep::ProviderPrefixRemoved("bedrock/".to_string()),
                MatchStep::RegionRemoved("us-east-1/".to_string()),
            ]
        );

        let reduced = resolve(&["anthropic.claude-sonnet-4-5-20250929-v9:0"]).unwrap();
        assert_eq!(reduced.key, "claude-sonnet-4-5-20250929");
    }

    #[test]
    fn resolve_claude_through_bedrock_id() {
        let resolved = resolve(&["claude-sonnet-4-20250514"]).unwrap();
        assert_eq!(resolved.key, "anthropic.claude-sonnet-4-20250514-v1:0");
        let id = "anthropic.claude-sonnet-4-20250514-v1:0".to_string();
        assert_eq!(resolved.steps, vec![MatchStep::BedrockIdFormed(id)]);
        assert_eq!(resolved.price.input, dec!(0.000003));
    }

    #[test]
    fn resolve_fine_tuned_model() {
        let resolved = resolve(&["ft:gpt-4o-mini-2024-07-18:acme::abc123"]).unwrap();
        assert_eq!(resolved.key, "ft:gpt-4o-mini-2024-07-18");
        assert_eq!(
            resolved.steps,
            vec![MatchStep::FineTuneSuffixRemoved(
                ":acme::abc123".to_string()
            )]
        );
    }

    #[test]
    fn resolve_ignores_case_and_space() {
        let resolved = resolve(&[" GPT-4o "]).unwrap();
        assert_eq!(resolved.key, "gpt-4o");
        assert_eq!(resolved.steps, vec![MatchStep::CaseIgnored]);
    }

    #[test]
    fn resolve_response_model_first() {
        let resolved = resolve(&["gpt-4o-mini", "gpt-4o"]).unwrap();
        assert_eq!(resolved.key, "gpt-4o-mini");
        assert_eq!(resolved.candidate, "gpt-4o-mini");

        // An Azure deployment name that is no model falls through to the
        // next candidate.
        let fallback = resolve(&["azure/my-prod-deployment", "gpt-4o"]).unwrap();
        assert_eq!(fallback.key, "gpt-4o");
        assert_eq!(fallback.candidate, "gpt-4o");
    }

    #[test]
    fn resolve_unknown_model_is_none() {
        assert_eq!(resolve(&["my-local-llama"]), None);
        assert_eq!(resolve(&["", "   "]), None);
        assert_eq!(resolve(&[]), None);
    }

    #[test]
    fn resolve_overrides_before_table() {
        let mut overrides = PriceTable::empty("project overrides");
        overrides.insert("gpt-4o", ModelPrice::new(dec!(0.000001), dec!(0.000002)));
        overrides.insert("acme-internal", ModelPrice::new(dec!(0.0000001), dec!(0)));
        let tables = [&overrides, PriceTable::embedded()];

        let overridden = resolve_in(&tables, &["openai/gpt-4o-2099-01-01"]).unwrap();
        assert_eq!(overridden.key, "gpt-4o");
        assert_eq!(overridden.table, "project overrides");
        assert_eq!(overridden.price.input, dec!(0.000001));

        let custom = resolve_in(&tables, &["acme-internal"]).unwrap();
        assert_eq!(custom.table, "project overrides");

        let base = resolve_in(&tables, &["gpt-4o-mini"]).unwrap();
        assert_eq!(base.table, crate::cost::table::EMBEDDED_LABEL);
    }

    #[test]
    fn aws_region_names() {
        assert!(is_aws_region("us-east-1"));
        assert!(is_aws_region("us-gov-west-1"));
        assert!(is_aws_region("ap-southeast-2"));
        assert!(!is_aws_region("gpt-4o"));
        assert!(!is_aws_region("llama-3-8b"));
    }
}
