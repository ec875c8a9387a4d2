//! Word search, without storage: how names become searchable words, what the inverted index holds
//! for a product, and what a query asks. Pure: no HTTP, no AWS.
//!
//! A product is found by `q` when, for every word of `q`, a word of its name or category starts with
//! it, ignoring case and accents ("cafe" finds "Café", "yirga" finds "Ethiopia Yirgacheffe"). The
//! index holds one item per (prefix, product) for every 2- and 3-character prefix of the product's
//! words, sorted by name; a query reads the partition of its most selective word's prefix in name
//! order and keeps the products whose words match every query word.

use std::collections::BTreeSet;

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::error::{ApiError, ApiResult};

/// Most words one query may have.
pub const MAX_QUERY_WORDS: usize = 5;
/// Fewest characters a query word must have.
pub const MIN_WORD_CHARS: usize = 2;
/// Longest indexed prefix: a query word longer than this reads this prefix's partition and is
/// matched against the stored words.
pub const MAX_PREFIX_CHARS: usize = 3;
/// Most distinct words a product's name and category may have, so that writing its index (and on
/// a rename, deleting the old one) fits in one transaction with the product.
pub const MAX_INDEXED_WORDS: usize = 24;

/// The searchable words of `text`: accents removed (NFD, combining marks dropped), lower case,
/// split at anything that is not a letter or a digit. In order, duplicates kept.
pub fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn prefix(word: &str, chars: usize) -> String {
    word.chars().take(chars).collect()
}

/// The distinct words of a product, from its name and category.
pub fn product_words(name: &str, category: &str) -> BTreeSet<String> {
    words(name).into_iter().chain(words(category)).collect()
}

/// The index partitions a product appears in: every prefix of 2 to 3 characters of its words.
pub fn prefixes(words: &BTreeSet<String>) -> BTreeSet<String> {
    words
        .iter()
        .flat_map(|w| {
            let n = w.chars().count().min(MAX_PREFIX_CHARS);
            (MIN_WORD_CHARS..=n).map(move |len| prefix(w, len))
        })
        .collect()
}

/// A 400 when a name and category have more distinct words than one index write can hold.
pub fn check_indexable(name: &str, category: &str) -> ApiResult<()> {
    let n = product_words(name, category).len();
    if n > MAX_INDEXED_WORDS {
        return Err(ApiError::invalid_field(
            "name",
            format!(
                "has {n} distinct words with the category; at most {MAX_INDEXED_WORDS} can be searched"
            ),
        ));
    }
    Ok(())
}

/// A parsed `q`: 1 to 5 words of at least 2 characters each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    words: Vec<String>,
}

impl SearchQuery {
    /// `None` for a blank `q` (list everything). A `q` with characters but no word (only
    /// punctuation or emoji) is refused: it would otherwise list everything too.
    pub fn parse(raw: &str) -> ApiResult<Option<Self>> {
        let mut found: Vec<String> = Vec::new();
        for w in words(raw) {
            if !found.contains(&w) {
                found.push(w);
            }
        }
        if found.is_empty() && raw.trim().is_empty() {
            return Ok(None);
        }
        if found.is_empty() {
            return Err(ApiError::invalid_field(
                "q",
                "must contain a word (letters or digits); leave it out to list everything",
            ));
        }
        if found.len() > MAX_QUERY_WORDS {
            return Err(ApiError::invalid_field(
                "q",
                format!("must have at most {MAX_QUERY_WORDS} words"),
            ));
        }
        if found.iter().any(|w| w.chars().count() < MIN_WORD_CHARS) {
            return Err(ApiError::invalid_field(
                "q",
                format!("every word must have at least {MIN_WORD_CHARS} characters"),
            ));
        }
        Ok(Some(SearchQuery { words: found }))
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The index partition to read: the longest word's (most selective) prefix.
    pub fn partition(&self) -> String {
        let longest = self
            .words
            .iter()
            .max_by_key(|w| w.chars().count())
            .expect("a query has at least one word");
        prefix(longest, MAX_PREFIX_CHARS)
    }

    /// Whether a product with these words matches: each query word starts one of them.
    pub fn matches<'a>(&self, product_words: impl IntoIterator<Item = &'a str> + Clone) -> bool {
        self.words.iter().all(|q| {
            product_words
                .clone()
                .into_iter()
                .any(|w| w.starts_with(q.as_str()))
        })
    }

    /// The query as the scope of its cursors.
    pub fn scope(&self) -> String {
        self.words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ws: &[&str]) -> BTreeSet<String> {
        ws.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn words_fold_case_and_accents_and_split_at_punctuation() {
        assert_eq!(words("Café Crème, 250g"), ["cafe", "creme", "250g"]);
        assert_eq!(words("Ethiopia Yirgacheffe"), ["ethiopia", "yirgacheffe"]);
        assert_eq!(words("cold-brew  KIT"), ["cold", "brew", "kit"]);
        assert_eq!(words("  ...  "), Vec::<String>::new());
    }

    #[test]
    fn products_are_indexed_under_every_short_prefix_of_their_words() {
        let w = product_words("Earl Grey Supreme", "tea");
        assert_eq!(w, set(&["earl", "grey", "supreme", "tea"]));
        assert_eq!(
            prefixes(&w),
            set(&["ea", "ear", "gr", "gre", "su", "sup", "te", "tea"])
        );
        // A one-letter word is not searchable (queries need two), a two-letter one is.
        assert_eq!(prefixes(&set(&["a", "xl"])), set(&["xl"]));
    }

    #[test]
    fn a_query_matches_when_every_word_starts_a_product_word() {
        let earl = product_words("Earl Grey Supreme", "tea");
        let q = |s: &str| SearchQuery::parse(s).unwrap().unwrap();
        let m = |query: &str, w: &BTreeSet<String>| q(query).matches(w.iter().map(String::as_str));
        assert!(m("grey", &earl));
        assert!(m("earl grey", &earl));
        assert!(m("GREY earl", &earl));
        assert!(m("tea sup", &earl));
        assert!(!m("earl green", &earl));
        assert!(!m("rey", &earl), "words match from their start");
        let yirga = product_words("Ethiopia Yirgacheffe", "coffee");
        assert!(m("yirga", &yirga));
        assert!(m("cafe", &product_words("Café de Olla", "coffee")));
        assert!(m("café", &product_words("Cafe Bustelo", "coffee")));
        assert_eq!(q("earl yirgacheffe").partition(), "yir");
        assert_eq!(q("tea").partition(), "tea");
    }

    #[test]
    fn queries_are_bounded_and_blank_lists_everything() {
        assert_eq!(SearchQuery::parse("   ").unwrap(), None);
        for wordless in ["...", "?!", "\u{1F375}\u{1F375}", " - / "] {
            let e = SearchQuery::parse(wordless).unwrap_err();
            assert_eq!(e.body()["error"]["field"], "q", "{wordless:?}");
        }
        let e = SearchQuery::parse("a b c d e f").unwrap_err().to_string();
        assert!(e.starts_with("q") && e.contains("5 words"), "{e}");
        let e = SearchQuery::parse("earl g").unwrap_err().to_string();
        assert!(e.contains("at least 2 characters"), "{e}");
        // Repeated words count once.
        assert!(
            SearchQuery::parse("tea tea tea tea tea tea")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn names_with_too_many_words_are_refused_before_they_are_stored() {
        let long: Vec<String> = (0..MAX_INDEXED_WORDS).map(|i| format!("word{i}")).collect();
        assert!(check_indexable(&long.join(" "), "x").is_err());
        assert!(check_indexable(&long[1..].join(" "), "x").is_ok());
    }
}
