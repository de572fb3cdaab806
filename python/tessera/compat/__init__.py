"""Drop-in modules that present Tessera under other projects' APIs (vllm)."""
