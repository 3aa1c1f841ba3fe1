"""The app's registered themes. ``esep-high-contrast`` uses the terminal's own 16 colours."""

from __future__ import annotations

from textual.theme import Theme

ESEP_DARK = Theme(
    name="esep-dark",
    primary="#4C8BF5",  # EU blue, lightened for dark backgrounds
    secondary="#7FA7E8",
    accent="#FFCC00",  # EU gold
    warning="#F0A202",
    error="#E5484D",
    success="#3FB950",
    foreground="#E6EAF2",
    background="#10151F",
    surface="#18202E",
    panel="#223047",
    dark=True,
)

ESEP_LIGHT = Theme(
    name="esep-light",
    primary="#003399",
    secondary="#2F5BB7",
    accent="#B38600",
    warning="#9A6700",
    error="#C62828",
    success="#1A7F37",
    foreground="#1B1F24",
    background="#F7F8FA",
    surface="#FFFFFF",
    panel="#E3E8F2",
    dark=False,
)

ESEP_HIGH_CONTRAST = Theme(
    name="esep-high-contrast",
    primary="ansi_bright_cyan",
    secondary="ansi_bright_blue",
    accent="ansi_bright_yellow",
    warning="ansi_bright_yellow",
    error="ansi_bright_red",
    success="ansi_bright_green",
    foreground="ansi_bright_white",
    background="ansi_black",
    surface="ansi_black",
    panel="ansi_blue",
    dark=True,
    ansi=True,
    # ANSI themes must name these (Textual's buttons and screens use them); the cursor and
    # focus colours are the terminal's brightest, so focus stays visible in 16 colours
    variables={
        "ansi-background": "ansi_black",
        "ansi-foreground": "ansi_bright_white",
        "border": "ansi_bright_cyan",
        "border-blurred": "ansi_white",
        "block-cursor-foreground": "ansi_black",
        "block-cursor-background": "ansi_bright_yellow",
        "block-cursor-text-style": "bold",
        "input-cursor-background": "ansi_bright_white",
        "input-cursor-foreground": "ansi_black",
        "input-selection-background": "ansi_bright_blue",
        "input-selection-foreground": "ansi_bright_white",
    },
)

THEMES = (ESEP_DARK, ESEP_LIGHT, ESEP_HIGH_CONTRAST)
DEFAULT_THEME = ESEP_DARK.name
