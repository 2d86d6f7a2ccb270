"""The fault suite (issue 14): each test sets up a fault an adversarial user can cause, asserts
the error the user sees, and asserts that nothing in the lake changed."""
