"""The gettext catalogs: ``<code>/LC_MESSAGES/esep_tui.po`` (and compiled ``.mo``) per language."""
