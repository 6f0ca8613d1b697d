"""Course-maintenance tools: export course_lib, check the toctree, translations and Colab links, run notebooks.

Run them as modules from the repository root (`python -m tools.check`); the Makefile names each one.
"""
