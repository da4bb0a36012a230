"""Qt user interface (PySide6 + pyqtgraph). Import ``explorer.ui.MainWindow`` for the app."""
