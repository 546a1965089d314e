"""Sphinx configuration of gmmfast's documentation.

Build the site (from the repository root, with the ``docs`` extra installed)::

    sphinx-build -W -b html docs docs/_build/html

Every example in ``examples/`` is executed and its figures are put in its page; every
warning is an error.
"""

import os
import re
import sys
import warnings
from pathlib import Path

import gmmfast

# gallery_order.py, beside this file, orders the gallery.
sys.path.insert(0, str(Path(__file__).parent))

project = "gmmfast"
copyright = "the gmmfast developers"
author = "the gmmfast developers"
release = gmmfast.__version__
version = re.match(r"\d+\.\d+", release).group(0)

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_design",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints",
                    "auto_examples/*.ipynb", "auto_examples/*.py"]
root_doc = "index"
default_role = "literal"
# Plain literal blocks (``::``) hold formulas, not code; code blocks name their language.
highlight_language = "none"
nitpicky = False

# -- API reference: one page per public name, from its numpydoc docstring ---------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- The gallery: every examples/plot_*.py runs and writes its figures into its page -----
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "gallery_order.GalleryOrder",
    "doc_module": ("gmmfast",),
    "backreferences_dir": "generated/backreferences",
    "show_memory": False,
    "remove_config_comments": True,
    "min_reported_time": 0,
    "matplotlib_animations": False,
    "download_all_examples": False,
}

# The examples draw into files (Agg) and run on all the machine's threads.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")

# -- The plot directive (the performance page's figure) ------------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]

# -- HTML: the PyData theme, no resource fetched from the network ----------------------
html_theme = "pydata_sphinx_theme"
html_title = f"gmmfast {release}"
html_static_path = ["_static"]
html_css_files = ["gmmfast.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 7,
    "icon_links": [],
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "getting_started": [], "changelog": [], "performance": []}
html_context = {"default_mode": "light"}
