"""Sphinx configuration of the course website. `make build` (tools/site.py) stages one Sphinx project per language
and runs Sphinx on each with this file, telling it the language through COURSE_LANG."""

import json
import os
from pathlib import Path


HERE = Path(__file__).resolve().parent
LANG = os.environ.get("COURSE_LANG", "en")
LANGUAGES = json.loads(os.environ.get("COURSE_LANGUAGES", '[["en", "English"]]'))
MESSAGES = json.loads(os.environ.get("COURSE_MESSAGES", "{}"))

project = MESSAGES.get("title", "Transformers from scratch")
author = "The Transformers-from-scratch course authors"
copyright = "the course authors, Apache-2.0"
language = LANG
root_doc = "index"

extensions = ["myst_nb"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # the notebooks' stored outputs are shown as they are: nothing runs during the build
nb_merge_streams = True

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = [str(HERE / "_static")]
html_css_files = ["course.css"]
templates_path = [str(HERE / "_templates")]
html_theme_options = {"home_page_in_toc": True, "show_toc_level": 2, "use_download_button": False,
                      "use_fullscreen_button": False,
                      # the language switcher, at the top of every page (site/_templates/course-languages.html)
                      "article_header_end": ["course-languages.html", "article-header-buttons.html"]}
html_context = {"course_lang": LANG, "course_languages": LANGUAGES, "course_messages": MESSAGES}
html_show_sourcelink = False
html_copy_source = False

# Maths renders with the copy of MathJax in _static, never a CDN: the site works offline.
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {"options": {"enableMenu": False}}
