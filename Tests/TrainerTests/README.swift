// Tests for this target live in files named after the code they test.
