"""A list of short labels (subjects, languages) typed as one comma-separated line."""

from __future__ import annotations

from widgets.form_field import FormField


def split_tags(text: str, limit: int = 10) -> list[str]:
    """ "Maths, Art ,, maths" -> ["Maths", "Art"]: trimmed, no blanks, no repeats (any case)."""
    seen: dict[str, str] = {}
    for part in text.split(","):
        label = " ".join(part.split())
        if label and label.casefold() not in seen:
            seen[label.casefold()] = label
    return list(seen.values())[:limit]


class TagInput(FormField):
    """A FormField whose value is a list: what was typed stays as typed, errors sit under it."""

    def __init__(
        self,
        label: str,
        *,
        name: str,
        values: list[str] | None = None,
        placeholder: str = "",
        limit: int = 10,
        max_length: int = 1000,
        id: str | None = None,
    ):
        super().__init__(
            label,
            name=name,
            placeholder=placeholder,
            max_length=max_length,
            value=", ".join(values or []),
            id=id,
        )
        self.limit = limit

    @property
    def values(self) -> list[str]:
        return split_tags(self.value, self.limit)

    @values.setter
    def values(self, labels: list[str]) -> None:
        self.value = ", ".join(labels)
