"""Zero-shot pre-labels: settings (`settings`), the score cache and run key (`cache`), the shared
engine base and result (`base`), the NLI cross-encoder (`nli`), the offline embedding-similarity
method (`embedding`), and loading and time estimates (`load`). Import from the modules; this
package re-exports nothing."""
