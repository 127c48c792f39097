"""Reading stored documents back."""
