"""numpy-only building blocks shared by training and inference."""
