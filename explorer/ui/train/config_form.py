"""A form generated from a config dataclass, bound both ways to a config object.

Editing a widget replaces the form's config with a validated copy (``changed`` is emitted);
:meth:`ConfigForm.set_config` updates every widget without echoing signals back.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QSpinBox, QToolButton, QWidget)
from superqt.utils import signals_blocked

from explorer.core.data import parse_classes

from ..text_fit import TEXT_FIT_EXEMPT
from ..widgets.plain_text import literal
from .config_fields import NONE_TEXT, FieldSpec, field_specs, unused_reason, with_value
from .wheel_guard import scroll_not_change

INVALID_STYLE = "background-color: #ffd6d6;"


class ScientificSpinBox(QDoubleSpinBox):
    """A float spin box that shows values like 2e-3 or 0.25 instead of a fixed number of decimals."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(15)
        self.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):  # noqa: D102
        from PySide6.QtGui import QValidator
        stripped = text.strip()
        try:
            float(stripped)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            ok = stripped in ("", "-", "+", ".") or stripped[-1:] in ("e", "E", "-", "+", ".")
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos


class PathEdit(QWidget):
    """A line edit for a folder with a Browse button."""

    editingFinished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.line = QLineEdit(self)
        self.browse = QToolButton(self)
        self.browse.setText("…")
        self.browse.setToolTip("Choose a folder")
        # A path can be longer than any field: it scrolls (text_fit exempts it).
        self.line.setProperty(TEXT_FIT_EXEMPT, True)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.browse)
        self.line.editingFinished.connect(self.editingFinished)
        self.browse.clicked.connect(self._choose)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the data folder", self.line.text())
        if folder:
            self.line.setText(folder)
            self.editingFinished.emit()


class ConfigForm(QWidget):
    """Editors for the fields of one config dataclass (see :mod:`.config_fields`)."""

    changed = Signal(object)       # the new config
    invalid = Signal(str)          # a plain message when an edit was refused; "" once every refusal is fixed

    def __init__(self, config: Any, prefix: str, title: str = "", parent: QWidget | None = None) -> None:
        """``prefix`` names the editors (``{prefix}_{field}``); ``title`` is for people ("VQ-VAE model")."""
        super().__init__(parent)
        self._config = config
        self.prefix = prefix
        title = title or prefix
        self.setObjectName(f"{prefix}Form")
        self.setAccessibleName(f"{title} settings")
        self.editors: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}       # the label above each editor
        self.errors: dict[str, str] = {}          # field -> why its last edit was refused (until fixed)
        self._tips: dict[str, str] = {}
        self.specs = {spec.name: spec for spec in field_specs(type(config))}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # Each label above its field: labels are words with units ("Use at most N images (0 = all)"),
        # too long to sit beside a field in a narrow sidebar; they wrap rather than get cut.
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        for spec in self.specs.values():
            editor = self._make_editor(spec)
            if isinstance(editor, (QAbstractSpinBox, QComboBox)):
                scroll_not_change(editor)            # the wheel scrolls the form, not the value
            editor.setObjectName(f"{prefix}_{spec.name}")
            editor.setAccessibleName(f"{spec.label} ({title})")
            tip = _tooltip(spec)
            editor.setToolTip(tip)
            self._tips[spec.name] = tip
            # The label spans the form's width above its field: it wraps only when it must.
            label = QLabel(spec.label, self)
            label.setBuddy(editor)
            label.setToolTip(tip)
            label.setWordWrap(True)
            layout.addRow(label)
            layout.addRow(editor)
            self.labels[spec.name] = label
            self.editors[spec.name] = editor
        self.set_config(config)

    # ------------------------------------------------------------------ the bound config
    def config(self) -> Any:
        """The config the form shows (always valid)."""
        return self._config

    def set_config(self, config: Any) -> None:
        """Show ``config`` in every editor (no ``changed`` signal)."""
        self._config = config
        for name, editor in self.editors.items():
            with signals_blocked(editor):
                self._show(self.specs[name], editor, getattr(config, name))
            self._mark(name, "")
        self._show_which_apply()

    def _show_which_apply(self) -> None:
        """Settings another one overrides (validation share vs held-out count, epochs vs steps)
        are greyed out, and their label and tooltip say which one applies."""
        for name, editor in self.editors.items():
            reason = unused_reason(self._config, name)
            label = self.labels.get(name)
            editor.setEnabled(not reason)
            if label is not None:
                label.setEnabled(not reason)
                label.setToolTip(f"{reason}<br>{self._tips[name]}" if reason else self._tips[name])
            if not editor.property("invalidReason"):
                target = editor.line if isinstance(editor, PathEdit) else editor
                target.setToolTip(f"{reason}<br>{self._tips[name]}" if reason else self._tips[name])

    def value_of(self, name: str) -> Any:
        return getattr(self._config, name)

    # ------------------------------------------------------------------ editors
    def _make_editor(self, spec: FieldSpec) -> QWidget:
        commit = lambda *_: self._commit(spec.name)  # noqa: E731
        if spec.kind == "bool":
            editor = QCheckBox(self)
            editor.toggled.connect(commit)
        elif spec.kind == "int":
            editor = QSpinBox(self)
            editor.setRange(int(spec.minimum), int(min(spec.maximum, 2**31 - 1)))
            if spec.optional:
                editor.setSpecialValueText(NONE_TEXT.get(spec.name, "none"))
            editor.setKeyboardTracking(False)
            editor.valueChanged.connect(commit)
        elif spec.kind == "float":
            editor = ScientificSpinBox(self)
            editor.setRange(spec.minimum, spec.maximum)
            editor.setKeyboardTracking(False)
            editor.valueChanged.connect(commit)
        elif spec.kind == "choice" or (spec.kind == "str" and spec.choices):
            editor = QComboBox(self)
            editor.setEditable(spec.kind == "str")
            for choice in spec.choices:
                editor.addItem(str(choice), choice)
            if spec.kind == "str":
                editor.lineEdit().editingFinished.connect(commit)
                editor.activated.connect(commit)
            else:
                editor.currentIndexChanged.connect(commit)
        elif spec.kind == "path":
            editor = PathEdit(self)
            editor.line.setPlaceholderText(NONE_TEXT.get(spec.name, ""))
            editor.editingFinished.connect(commit)
        else:                                          # "str" or "classes"
            editor = QLineEdit(self)
            if spec.optional:
                editor.setPlaceholderText(NONE_TEXT.get(spec.name, "none"))
            if spec.kind == "classes":
                editor.setPlaceholderText("all, or e.g. 1-4, 7")
            editor.editingFinished.connect(commit)
        return editor

    def _show(self, spec: FieldSpec, editor: QWidget, value: Any) -> None:
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.setValue(editor.minimum() if value is None else value)
        elif isinstance(editor, QComboBox):
            index = editor.findData(value)
            if index >= 0:
                editor.setCurrentIndex(index)
            elif editor.isEditable():
                editor.setEditText("" if value is None else str(value))
        elif isinstance(editor, PathEdit):
            editor.line.setText("" if value is None else str(value))
        elif isinstance(editor, QLineEdit):
            if spec.kind == "classes":
                editor.setText(_classes_text(value))
            else:
                editor.setText("" if value is None else str(value))

    def _read(self, spec: FieldSpec, editor: QWidget) -> Any:
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            if spec.optional and editor.value() == editor.minimum():
                return None
            return int(editor.value()) if spec.kind == "int" else float(editor.value())
        if isinstance(editor, QComboBox):
            if editor.isEditable():
                return editor.currentText().strip()
            return editor.currentData()
        text = (editor.line if isinstance(editor, PathEdit) else editor).text().strip()
        if spec.kind == "classes":
            return parse_classes(text) if text else None
        return None if (spec.optional and not text) else text

    def _commit(self, name: str) -> None:
        spec, editor = self.specs[name], self.editors[name]
        was_refused = name in self.errors
        try:
            value = self._read(spec, editor)
            if value == getattr(self._config, name):
                self._mark(name, "")
                self._refusal_fixed(was_refused)
                return
            self._config = with_value(self._config, name, value)
        except ValueError as exc:
            self._mark(name, str(exc))
            self.invalid.emit(self.errors[name])
            return
        self._mark(name, "")
        self._refusal_fixed(was_refused)
        self._show_which_apply()
        self.changed.emit(self._config)

    def _refusal_fixed(self, was_refused: bool) -> None:
        """A refused value is valid now: say what is still refused, or "" (the message goes)."""
        if was_refused:
            self.invalid.emit(next(reversed(self.errors.values()), ""))

    def _mark(self, name: str, error: str) -> None:
        """Show (or clear) a refused value: a red background and the reason as tooltip."""
        editor = self.editors[name]
        target = editor.line if isinstance(editor, PathEdit) else editor
        target.setStyleSheet(INVALID_STYLE if error else "")
        target.setProperty("invalidReason", error)
        target.setToolTip(literal(error) if error else self._tips[name])     # the error may quote the value
        if error:
            self.errors[name] = f"{self.specs[name].label}: {error}"
        else:
            self.errors.pop(name, None)


def _tooltip(spec: FieldSpec) -> str:
    """The field's comment from the source, in words, with the setting's code name after it."""
    if not spec.tooltip:
        return f"<i>{spec.name}</i>"
    comment = spec.tooltip[0].upper() + spec.tooltip[1:]
    return f"{comment}<br><i>{spec.name}</i>"


def _classes_text(classes: tuple[int, ...] | None) -> str:
    """(1, 2, 3, 4, 7) -> "1-4, 7" (the inverse of ``parse_classes``)."""
    if not classes:
        return ""
    runs: list[list[int]] = []
    for c in sorted(classes):
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
