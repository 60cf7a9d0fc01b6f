//! Counting tokens as the model does, for budgets, context cutting and the
//! cards until the server's usage report arrives.
//!
//! `OpenAI`'s models are counted with their own encoding (`o200k_base` for
//! gpt-4o, gpt-4.1, gpt-5 and the o-series, `cl100k_base` for gpt-4 and
//! gpt-3.5) through `tiktoken-rs`. Any other model is counted with
//! `o200k_base` as an approximation, and says so ([`Tokens::exact`]): the
//! screen marks such a count `≈`. Building an encoder parses a few MB of
//! ranks (tens of milliseconds), so [`Tokens`] builds it once, at the first
//! count, on whichever thread counts first (the engine's); the UI asks with
//! [`Tokens::ready`], which never builds, and until then estimates at four
//! characters a token.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;
use tiktoken_rs::tokenizer::Tokenizer;

/// Which encoding counts a model's tokens, and whether it is the model's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoding {
    /// `cl100k_base` rather than `o200k_base`.
    pub cl100k: bool,
    /// The model's own encoding; else an approximation.
    pub exact: bool,
}

impl Encoding {
    /// The encoding for `model` (a provider prefix such as `openai/` aside).
    pub fn for_model(model: &str) -> Self {
        let name = model.rsplit('/').next().unwrap_or(model);
        match tiktoken_rs::tokenizer::get_tokenizer(name) {
            Some(Tokenizer::O200kBase) => Self {
                cl100k: false,
                exact: true,
            },
            Some(Tokenizer::Cl100kBase) => Self {
                cl100k: true,
                exact: true,
            },
            // Older encodings and gpt-oss's harmony are close to these;
            // everything else is not OpenAI's.
            Some(
                Tokenizer::O200kHarmony
                | Tokenizer::P50kBase
                | Tokenizer::R50kBase
                | Tokenizer::P50kEdit
                | Tokenizer::Gpt2,
            )
            | None => Self {
                cl100k: false,
                exact: false,
            },
        }
    }

    /// Its name, as `doctor` and the docs say it.
    pub fn name(self) -> &'static str {
        if self.cl100k {
            "cl100k_base"
        } else {
            "o200k_base"
        }
    }
}

/// A model's token counter, its encoder built at the first count.
pub struct Tokens {
    encoding: Encoding,
    bpe: OnceLock<Option<CoreBPE>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("encoding", &self.encoding)
            .field("built", &self.is_built())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub fn for_model(model: &str) -> Self {
        Self {
            encoding: Encoding::for_model(model),
            bpe: OnceLock::new(),
        }
    }

    /// Whether counts are the model's own, not an approximation.
    pub fn exact(&self) -> bool {
        self.encoding.exact
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The tokens in `text`, building the encoder if it is not built yet.
    pub fn count(&self, text: &str) -> u64 {
        let bpe = self.bpe.get_or_init(|| {
            if self.encoding.cl100k {
                tiktoken_rs::cl100k_base().ok()
            } else {
                tiktoken_rs::o200k_base().ok()
            }
        });
        match bpe {
            Some(bpe) => u64::try_from(bpe.count_ordinary(text)).unwrap_or(u64::MAX),
            None => rough(text),
        }
    }

    /// Whether the encoder is built (by a count).
    pub fn is_built(&self) -> bool {
        matches!(self.bpe.get(), Some(Some(_)))
    }

    /// The tokens in `text` if the encoder is built already, else the rough
    /// estimate: for a thread that must not wait (the UI's).
    pub fn ready(&self, text: &str) -> u64 {
        match self.bpe.get() {
            Some(Some(bpe)) => u64::try_from(bpe.count_ordinary(text)).unwrap_or(u64::MAX),
            Some(None) | None => rough(text),
        }
    }
}

/// About four characters a token: what a count falls back on.
pub fn rough(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_models_get_their_encoding_and_others_an_approximation() {
        for (model, name, exact) in [
            ("gpt-4o", "o200k_base", true),
            ("gpt-4o-mini", "o200k_base", true),
            ("gpt-4.1", "o200k_base", true),
            ("gpt-5", "o200k_base", true),
            ("o3-mini", "o200k_base", true),
            ("openai/gpt-4o", "o200k_base", true),
            ("gpt-4", "cl100k_base", true),
            ("gpt-3.5-turbo", "cl100k_base", true),
            ("llama3.1", "o200k_base", false),
            ("smollm2-135m", "o200k_base", false),
        ] {
            let e = Encoding::for_model(model);
            assert_eq!((e.name(), e.exact), (name, exact), "{model}");
        }
    }

    #[test]
    fn counts_match_tiktoken() {
        // OpenAI's own examples: tiktoken's README and the cookbook.
        let gpt4 = Tokens::for_model("gpt-4");
        assert_eq!(
            gpt4.ready("tiktoken is great!"),
            5,
            "rough before it is built"
        );
        assert_eq!(gpt4.count("tiktoken is great!"), 6);
        assert_eq!(
            gpt4.ready("tiktoken is great!"),
            6,
            "built by the first count"
        );
        let gpt4o = Tokens::for_model("gpt-4o");
        assert_eq!(gpt4o.count("hello world"), 2);
        // Where four characters a token is far off: short words.
        let words = "a ".repeat(1000);
        let words = words.trim_end();
        assert_eq!(rough(words), 500);
        assert_eq!(gpt4o.count(words), 1000);
    }
}
