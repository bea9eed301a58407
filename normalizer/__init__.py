"""normalizer package."""
