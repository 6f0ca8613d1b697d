"""course_lib: the library learners build in the course "Transformers from scratch", one chapter at a time.

Every module except this file is generated from the English notebooks under chapters/en/ by `make lib`;
each module's docstring names the notebook that teaches it. Edit the notebook, never the module.
"""

from importlib.metadata import PackageNotFoundError, version


try:
    __version__ = version("course-lib")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0"
