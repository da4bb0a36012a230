"""The Train form as a user scrolls and types: the wheel scrolls the form instead of changing the
field under the pointer; a refused value's message goes once the value is fixed; every label is
in words."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget


def wheel(widget: QWidget, notches: int = -1) -> None:
    """Turn the mouse wheel over the middle of ``widget`` (negative: down, as when scrolling a form).

    Through the window system (QTest.wheelEvent), as a real wheel: Qt offers such an event to
    the widget under the pointer and, if it ignores it, to its parents."""
    window = widget.window()
    centre = widget.mapTo(window, QPoint(widget.width() // 2, widget.height() // 2))
    QTest.wheelEvent(window.windowHandle(), QPointF(centre), QPoint(0, 120 * notches))
    QApplication.processEvents()


def scroll_area_of(widget: QWidget) -> QScrollArea:
    parent = widget.parentWidget()
    while not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    return parent


def show_prior_tab(qtbot, main_window):
    main_window.resize(1280, 560)                   # short enough that the Prior tab scrolls
    panel = main_window.show_panel("trainPanel")
    panel.form.setCurrentIndex(2)
    qtbot.waitUntil(lambda: panel.findChild(QWidget, "priorModel_kernel_size").isVisible(), timeout=3000)
    return panel


def test_wheel_over_unfocused_fields_scrolls_the_form_not_the_value(qtbot, main_window) -> None:
    panel = show_prior_tab(qtbot, main_window)
    kernel = panel.findChild(QWidget, "priorModel_kernel_size")
    kind = panel.findChild(QWidget, "priorModel_kind")
    area = scroll_area_of(kernel)
    bar = area.verticalScrollBar()
    assert bar.maximum() > 0, "the form should need scrolling at this height"
    bar.setValue(0)
    before = (kernel.value(), kind.currentIndex(), panel.settings_model.to_dict())
    for field in (kernel, kind, kernel):
        assert not field.hasFocus()
        wheel(field, -1)
        wheel(field, +1)
        wheel(field, -1)
    assert (kernel.value(), kind.currentIndex(), panel.settings_model.to_dict()) == before
    assert bar.value() > 0                          # the form scrolled instead
    assert not kernel.hasFocus() and not kind.hasFocus()     # and the wheel gave no field the focus


def test_wheel_changes_a_field_the_user_clicked_into(qtbot, main_window) -> None:
    panel = show_prior_tab(qtbot, main_window)
    layers = panel.findChild(QWidget, "priorModel_layers")
    main_window.activateWindow()
    scroll_area_of(layers).ensureWidgetVisible(layers)
    layers.setFocus(Qt.MouseFocusReason)
    qtbot.waitUntil(layers.hasFocus, timeout=3000)
    before = layers.value()
    wheel(layers, +1)
    assert layers.value() == before + 1


def test_a_refused_value_message_goes_once_the_value_is_fixed(qtbot, main_window) -> None:
    panel = show_prior_tab(qtbot, main_window)
    status = panel.controls.status_label
    status.setText("Loaded tiny.")
    kernel = panel.findChild(QWidget, "priorModel_kernel_size")
    kernel.setValue(4)
    assert "odd" in status.text() and kernel.property("invalidReason")
    assert panel.settings_model.prior.model.kernel_size != 4
    kernel.setValue(5)
    assert "odd" not in status.text() and status.text() == "Loaded tiny."
    assert not kernel.property("invalidReason") and panel.settings_model.prior.model.kernel_size == 5
    # two refusals: fixing one still shows the other; fixing both clears the line
    layers = panel.findChild(QWidget, "priorModel_first_kernel")
    kernel.setValue(6)
    layers.setValue(4)
    assert "odd" in status.text()
    kernel.setValue(3)
    assert "First layer" in status.text()
    layers.setValue(5)
    assert status.text() == "Loaded tiny."


def test_every_form_label_is_in_words(qtbot, main_window) -> None:
    panel = main_window.train_panel
    for form in panel.form.forms():
        for name, label in form.labels.items():
            assert label.text() != name.replace("_", " "), f"{form.prefix}_{name} has no label in words"
    label = panel.form.data_form.labels["holdout_in_order"].text()
    assert "holdout" not in label.lower() and "hold out the last N" in label
