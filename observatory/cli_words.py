"""The command line's own words in French: typer's help panels, its help option and its « no
such command », which typer writes in English.

Typer keeps its panel titles in module constants and looks « No such command » up with
``gettext`` when it writes it: both are pointed at the French below when the command line is
imported. The messages of typer's copy of click's parser (« No such option », « Invalid value
for… ») are plain English strings in its code and stay so; tests/test_cli.py checks the rest.
"""

from __future__ import annotations

from typer import core as typer_core
from typer import rich_utils

PANELS = {
    "COMMANDS_PANEL_TITLE": "Commandes",
    "DEFAULT_STRING": "[défaut : {}]",
    "ENVVAR_STRING": "[variable d'environnement : {}]",
    "REQUIRED_LONG_STRING": "[obligatoire]",
    "ERRORS_PANEL_TITLE": "Erreur",
    "ABORTED_TEXT": "Interrompu.",
    "RICH_HELP": "Aide : [blue]{command_path} {help_option}[/]",
}
MESSAGES = {
    "Show this message and exit.": "Affiche cette aide.",
    "No such command {name!r}.": "Commande inconnue : {name}.",
}


def french(message: str) -> str:
    """The French of one of typer's messages (its template, before formatting)."""
    return MESSAGES.get(message, message)


typer_core._ = french
for _name, _words in PANELS.items():
    setattr(rich_utils, _name, _words)


class _FrenchHelpOption:
    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = french("Show this message and exit.")
        return option


class FrenchGroup(_FrenchHelpOption, typer_core.TyperGroup):
    """The command group, its help option described in French."""


class FrenchCommand(_FrenchHelpOption, typer_core.TyperCommand):
    """A command, its help option described in French."""
