//! How every step finds what its stack owns, and how owned resources converge to the
//! configured tags. The rules (docs/architecture.md, "Ownership"):
//!
//! 1. A resource the config names by id (e.g. `amp.workspace_id`) is *pinned*: used, never
//!    tagged, renamed or deleted, even when it carries the stack tag.
//! 2. Otherwise the stack's resource is found by the stack tag first and by name second: of
//!    the resources tagged for the stack, the one with the configured name wins, else any
//!    tagged one (its name changed in the config: an in-place rename, never a second resource).
//! 3. Every other resource tagged for the stack is a leftover that cleanup removes.
//! 4. Tags converge to the config; a tag is removed only if meshctl set it earlier (the keys it
//!    set are recorded in the step's state output [`MANAGED_TAGS`]), never one others added.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::STACK_TAG;

/// A cloud resource that may carry the stack tag.
pub trait Tagged {
    fn id(&self) -> &str;
    /// The user-facing name (alias) the config chooses, when the resource has one.
    fn name(&self) -> Option<&str>;
    fn tags(&self) -> &HashMap<String, String>;
}

/// What a stack owns of one kind of resource.
#[derive(Debug, Clone)]
pub struct Owned<T> {
    /// The stack's resource: tagged for the stack, preferably with the configured name.
    /// `None` when nothing is tagged, or when the config pins a resource by id.
    pub primary: Option<T>,
    /// Other resources tagged for the stack (not the pinned one): cleanup removes them.
    pub leftovers: Vec<T>,
}

impl<T: Tagged> Owned<T> {
    /// Sort `found` (any resources, tagged or not) by the ownership rules. `pinned` is the id
    /// the config names, `wanted` the configured name; `better` orders equally named
    /// candidates (e.g. an active one before one still being created).
    pub fn sort(
        found: Vec<T>,
        stack: &str,
        pinned: Option<&str>,
        wanted: &str,
        better: impl Fn(&T) -> bool,
    ) -> Owned<T> {
        let mut tagged: Vec<T> = found
            .into_iter()
            .filter(|r| is_owned(r.tags(), stack))
            .filter(|r| pinned != Some(r.id()))
            .collect();
        if pinned.is_some() {
            return Owned {
                primary: None,
                leftovers: tagged,
            };
        }
        // Stable: the configured name first, then `better`, then the order found.
        tagged.sort_by_key(|r| (r.name() != Some(wanted), !better(r)));
        let mut rest = tagged.into_iter();
        Owned {
            primary: rest.next(),
            leftovers: rest.collect(),
        }
    }

    /// Everything cleanup may delete: the primary and the leftovers, never a pinned one.
    pub fn deletable(self) -> Vec<T> {
        self.primary.into_iter().chain(self.leftovers).collect()
    }
}

/// Whether `tags` carry this stack's ownership tag.
pub fn is_owned(tags: &HashMap<String, String>, stack: &str) -> bool {
    tags.get(STACK_TAG).is_some_and(|v| v == stack)
}

/// The state output (of each step) recording the tag keys meshctl set on its resources.
pub const MANAGED_TAGS: &str = "managed_tags";

/// The recorded keys, from the output written by [`managed_tags_output`]. Tag keys cannot
/// contain commas, so a comma-separated list is unambiguous.
pub fn managed_tag_keys(output: Option<&str>) -> BTreeSet<String> {
    output
        .unwrap_or_default()
        .split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// The value to record after setting `desired` on a step's resources.
pub fn managed_tags_output(desired: &HashMap<String, String>) -> String {
    let keys: BTreeSet<&str> = desired.keys().map(String::as_str).collect();
    keys.into_iter().collect::<Vec<_>>().join(",")
}

/// How a resource's tags must change to match the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagChanges {
    /// Keys to set (new or with another value), with the value to set.
    pub set: BTreeMap<String, String>,
    /// Keys to remove: meshctl set them earlier and the config no longer has them.
    pub remove: Vec<String>,
    /// One line per change, for plans: `tag added: k=v`, `tag changed: k: a -> b`,
    /// `tag removed: k`.
    pub lines: Vec<String>,
}

impl TagChanges {
    /// From `current` to `desired`; removes only keys in `set_before` (what meshctl set).
    pub fn between(
        desired: &HashMap<String, String>,
        current: &HashMap<String, String>,
        set_before: &BTreeSet<String>,
    ) -> TagChanges {
        let mut changes = TagChanges::default();
        let desired_sorted: BTreeMap<&String, &String> = desired.iter().collect();
        for (k, v) in desired_sorted {
            match current.get(k) {
                None => changes.lines.push(format!("tag added: {k}={v}")),
                Some(old) if old != v => changes
                    .lines
                    .push(format!("tag changed: {k}: {old} -> {v}")),
                Some(_) => continue,
            }
            changes.set.insert(k.clone(), v.clone());
        }
        for k in set_before {
            if k != STACK_TAG && !desired.contains_key(k) && current.contains_key(k) {
                changes.lines.push(format!("tag removed: {k}"));
                changes.remove.push(k.clone());
            }
        }
        changes
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// A short line diff of two texts for plans: removed lines as `- …`, added lines as `+ …`
/// (trimmed, in order, at most `max` lines; a last line says how many more there are).
pub fn line_diff(old: &str, new: &str, max: usize) -> Vec<String> {
    let old_lines: Vec<&str> = old.lines().map(str::trim).collect();
    let new_lines: Vec<&str> = new.lines().map(str::trim).collect();
    let mut out: Vec<String> = old_lines
        .iter()
        .filter(|l| !l.is_empty() && !new_lines.contains(l))
        .map(|l| format!("- {l}"))
        .chain(
            new_lines
                .iter()
                .filter(|l| !l.is_empty() && !old_lines.contains(l))
                .map(|l| format!("+ {l}")),
        )
        .collect();
    if out.len() > max {
        let more = out.len() - max;
        out.truncate(max);
        out.push(format!("… and {more} more changed line(s)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct R {
        id: &'static str,
        name: &'static str,
        tags: HashMap<String, String>,
    }

    impl Tagged for R {
        fn id(&self) -> &str {
            self.id
        }
        fn name(&self) -> Option<&str> {
            Some(self.name)
        }
        fn tags(&self) -> &HashMap<String, String> {
            &self.tags
        }
    }

    fn r(id: &'static str, name: &'static str, stack: Option<&str>) -> R {
        let mut tags = HashMap::new();
        if let Some(s) = stack {
            tags.insert(STACK_TAG.to_string(), s.to_string());
        }
        R { id, name, tags }
    }

    #[test]
    fn a_renamed_resource_is_found_by_its_tag() {
        let owned = Owned::sort(
            vec![r("a", "foreign", None), r("b", "old-name", Some("demo"))],
            "demo",
            None,
            "new-name",
            |_| true,
        );
        assert_eq!(owned.primary.map(|p| p.id), Some("b"));
        assert!(owned.leftovers.is_empty());
    }

    #[test]
    fn the_configured_name_wins_among_tagged_resources() {
        let owned = Owned::sort(
            vec![r("a", "old", Some("demo")), r("b", "wanted", Some("demo"))],
            "demo",
            None,
            "wanted",
            |_| true,
        );
        assert_eq!(owned.primary.as_ref().map(|p| p.id), Some("b"));
        assert_eq!(owned.leftovers.len(), 1);
    }

    #[test]
    fn a_pinned_resource_is_never_deletable_even_when_tagged() {
        let owned = Owned::sort(
            vec![
                r("pinned", "demo", Some("demo")),
                r("old", "x", Some("demo")),
            ],
            "demo",
            Some("pinned"),
            "demo",
            |_| true,
        );
        let ids: Vec<_> = owned.deletable().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["old"]);
    }

    #[test]
    fn tag_removal_touches_only_keys_meshctl_set() {
        let desired: HashMap<_, _> = [(STACK_TAG.to_string(), "demo".to_string())].into();
        let current: HashMap<_, _> = [
            (STACK_TAG.to_string(), "demo".to_string()),
            ("team".to_string(), "a".to_string()),
            ("someone-else".to_string(), "b".to_string()),
        ]
        .into();
        let before = managed_tag_keys(Some(&format!("{STACK_TAG},team")));
        let c = TagChanges::between(&desired, &current, &before);
        assert_eq!(c.remove, ["team"]);
        assert!(c.set.is_empty());
        assert_eq!(c.lines, ["tag removed: team"]);
    }

    #[test]
    fn line_diff_shows_the_changed_threshold() {
        let d = line_diff("a\nexpr: x > 0.05\nb", "a\nexpr: x > 0.02\nb", 10);
        assert_eq!(d, ["- expr: x > 0.05", "+ expr: x > 0.02"]);
    }
}
