"""The first window fits the screen, title bar included (issue 20: on a 1280×800 laptop the window's
content was 1280×800, so with the title bar the status bar was off the bottom of the screen)."""
from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, QTimer
from PySide6.QtWidgets import QApplication


def test_first_window_geometry_leaves_room_for_the_frame() -> None:
    from explorer.ui.main_window import DEFAULT_SIZE, first_window_geometry
    laptop = QRect(0, 0, 1280, 800)
    title_bar = QMargins(0, 37, 0, 0)
    content = first_window_geometry(laptop, title_bar)
    assert content.marginsAdded(title_bar) == laptop             # frame included, exactly the screen
    assert content.size() == QSize(1280, 763)
    # a desktop panel at the top and window borders: still inside the available area
    available, frame = QRect(0, 27, 1280, 773), QMargins(4, 30, 4, 4)
    outer = first_window_geometry(available, frame).marginsAdded(frame)
    assert available.contains(outer)
    # a large screen: the preferred size, centred
    big = first_window_geometry(QRect(0, 0, 1920, 1080), title_bar)
    assert big.size() == DEFAULT_SIZE
    assert abs(big.marginsAdded(title_bar).center().x() - 960) <= 1


def test_first_launch_keeps_the_status_bar_on_screen(qtbot, isolated_settings) -> None:
    """run_app on a screen no larger than the window's preferred size (the offscreen screen is
    800×800 and draws a 2-pixel frame): the frame and the status bar stay inside the screen."""
    from explorer.ui.app import run_app
    seen: dict = {}
    earlier = QApplication.topLevelWidgets()

    def measure_then_close() -> None:
        window = next((w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow"
                       and w.isVisible() and not any(w is e for e in earlier)), None)
        if window is None:
            QTimer.singleShot(20, measure_then_close)
            return
        QApplication.processEvents()
        bar = window.statusBar()
        seen["available"] = window.screen().availableGeometry()
        seen["frame"] = window.frameGeometry()
        seen["status"] = QRect(bar.mapToGlobal(QPoint(0, 0)), bar.size())
        window.close()

    QTimer.singleShot(0, measure_then_close)
    assert run_app() == 0
    available, frame, status = seen["available"], seen["frame"], seen["status"]
    assert frame.top() >= available.top() and frame.bottom() <= available.bottom(), (frame, available)
    assert status.bottom() <= available.bottom() and status.height() > 0, (status, available)


def test_a_restored_window_keeps_the_users_geometry(qtbot, isolated_settings) -> None:
    from explorer.ui import MainWindow
    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(760, 600)
    first.save_settings()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.geometry_restored and second.size() == QSize(760, 600)
