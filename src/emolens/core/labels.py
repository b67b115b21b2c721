"""The seven emotion labels, defined once, and name mapping for foreign datasets.

Every reader maps class *names* to our indexes; positions in another dataset's
ordering (alphabetical folders, RAF-DB numbers) are never trusted.
"""

from __future__ import annotations

from collections.abc import Mapping

# FER2013's CSV order: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# FER+'s eighth emotion: optional, a model whose card lists it is read with it everywhere.
CONTEMPT = "contempt"


def label_set(classes: int = 7) -> tuple[str, ...]:
    """The label tuple of a 7-class (FER2013) or 8-class (FER+, with contempt) model."""
    if classes == 7:
        return EMOTIONS
    if classes == 8:
        return EMOTIONS + (CONTEMPT,)
    raise ValueError(f"classes must be 7 or 8 (with contempt), got {classes}")


# Valence used by summaries (video, journal, satisfaction): -1 unpleasant .. +1 pleasant.
VALENCE: Mapping[str, float] = {
    "angry": -0.8,
    "disgust": -0.7,
    "fear": -0.6,
    "happy": 1.0,
    "sad": -0.8,
    "surprise": 0.2,
    "neutral": 0.0,
    CONTEMPT: -0.5,
}

# Spellings seen in public datasets (CK+, JAFFE, AffectNet, RAF-DB ...). None = not one of ours.
ALIASES: Mapping[str, str | None] = {
    "anger": "angry",
    "angry": "angry",
    "mad": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "smile": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "neutral": "neutral",
    "calm": "neutral",
    "contempt": None,
}

# RAF-DB's basic-emotion folder numbers.
RAFDB_NUMBERS: Mapping[str, str] = {
    "1": "surprise",
    "2": "fear",
    "3": "disgust",
    "4": "happy",
    "5": "sad",
    "6": "angry",
    "7": "neutral",
}

# FER2013 CSV "emotion" column: integer -> name.
FER2013_CSV: Mapping[str, str] = {str(i): name for i, name in enumerate(EMOTIONS)}

LABEL_MAPS: Mapping[str, Mapping[str, str | None]] = {
    "names": ALIASES,
    "rafdb": RAFDB_NUMBERS,
    "fer2013": FER2013_CSV,
}


def canonical(name: str, label_map: Mapping[str, str | None] | None = None) -> str | None:
    """Our label for a foreign class name, or None when it is not one of our seven.

    Raises KeyError for a name nobody mapped, so a typo never silently drops a class.
    """
    key = name.strip().lower()
    table = ALIASES if label_map is None else label_map
    if key in table:
        return table[key]
    if label_map is not None and key in ALIASES:
        return ALIASES[key]
    raise KeyError(
        f"class folder {name!r} is not a known emotion name; pass a label map "
        f"(e.g. --label-map rafdb or a YAML file mapping it to one of {', '.join(EMOTIONS)} or null)"
    )


def index_of(name: str, labels: tuple[str, ...] = EMOTIONS) -> int:
    """Index of an emotion name within an ordered label tuple (a card's labels)."""
    try:
        return labels.index(name)
    except ValueError:
        raise KeyError(f"unknown emotion {name!r}; expected one of {', '.join(labels)}") from None
