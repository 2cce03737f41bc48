"""Static files without the ones only the browser tests use: axe-core (vendored under
static/vendor, injected by tests/e2e/test_layout.py) is neither collected nor served."""

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.utils import matches_patterns

TEST_ONLY = ["vendor/axe-core-*", "vendor/axe-core-*/*"]


class FileSystemFinder(finders.FileSystemFinder):
    def find(self, path, find_all=False, **kwargs):
        if matches_patterns(path, TEST_ONLY):
            return []
        return super().find(path, find_all=find_all, **kwargs)

    def list(self, ignore_patterns):
        return super().list([*(ignore_patterns or []), *TEST_ONLY])
