"""One dialog for a GUI user whose training images are not on this computer yet:
download them (in a worker thread, with a progress bar) or choose the folder that holds them."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)
from superqt.utils import thread_worker

from explorer.core.data import DATASETS, DataConfig, default_data_root, download_dataset
from explorer.ui.widgets.plain_text import escape_markup, plain

DOWNLOAD_SIZE = {"mnist": "12 MB", "fashion-mnist": "31 MB", "kmnist": "21 MB", "cifar10": "170 MB"}


def _download(data: DataConfig):
    """The worker's generator: (fraction, text) progress of :func:`download_dataset`."""
    yield from download_dataset(data)


class MissingDataDialog(QDialog):
    """Accepted when the data are there: downloaded, or in the folder :attr:`chosen_root`."""

    def __init__(self, data: DataConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("missingDataDialog")
        self.setAccessibleName("Training images not found")
        self.setWindowTitle("Training images not found")
        self.data = data
        self.chosen_root: str | None = None       # the folder the user picked (None: downloaded)
        self.worker = None
        spec = DATASETS.get(data.name.strip().lower().replace("_", "-"))
        title = spec.title if spec else data.name
        folder = Path(data.root).expanduser() if data.root else default_data_root()
        self.message = QLabel(
            f"<p><b>{escape_markup(title)}</b> is not on this computer yet "
            f"(looked in <i>{escape_markup(folder)}</i>).</p>"
            f"<p>Download it now ({DOWNLOAD_SIZE.get(spec.name if spec else '', 'a few MB')}, needs an internet "
            f"connection) into that folder, or choose the folder where you already keep it.</p>", self)
        self.message.setObjectName("missingDataMessage")
        self.message.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("downloadProgress")
        self.progress.setAccessibleName("Download progress")
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.status = plain(QLabel("", self))
        self.status.setObjectName("downloadStatus")
        self.status.setAccessibleName("Download status")
        self.status.setWordWrap(True)
        self.download_button = QPushButton("Download", self)
        self.choose_button = QPushButton("Choose folder…", self)
        self.cancel_button = QPushButton("Cancel", self)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button, name in ((self.download_button, "downloadButton"), (self.choose_button, "chooseFolderButton"),
                             (self.cancel_button, "cancelButton")):
            button.setObjectName(name)
            button.setAccessibleName(button.text().rstrip("…"))
            buttons.addWidget(button)
        self.download_button.setDefault(True)
        layout = QVBoxLayout(self)
        for widget in (self.message, self.progress, self.status):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.download_button.clicked.connect(self.start_download)
        self.choose_button.clicked.connect(self.choose_folder)
        self.cancel_button.clicked.connect(self.reject)
        self.setMinimumWidth(460)

    # ------------------------------------------------------------------ choices
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the folder that holds the images",
                                                  self.data.root or str(Path.home()))
        if folder:
            self.chosen_root = folder
            self.accept()

    def start_download(self) -> None:
        if self.worker is not None:
            return
        self.download_button.setEnabled(False)
        self.choose_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText("Connecting …")
        worker = thread_worker(_download, start_thread=False, ignore_errors=True)(self.data)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(self._on_downloaded)
        worker.errored.connect(self._on_failed)
        self.worker = worker
        worker.start()

    # ------------------------------------------------------------------ worker (GUI thread)
    def _on_progress(self, update: tuple[float, str]) -> None:
        fraction, text = update
        self.progress.setValue(int(round(1000 * fraction)))
        self.progress.setFormat(f"{fraction:.0%}")
        self.status.setText(text)

    def _on_downloaded(self, _result: object = None) -> None:
        self.worker = None
        self.progress.setValue(1000)
        self.accept()

    def _on_failed(self, exc: Exception) -> None:
        self.worker = None
        self.progress.hide()
        self.status.setText(str(exc))
        self.download_button.setEnabled(True)
        self.choose_button.setEnabled(True)

    def reject(self) -> None:
        """Cancel: a running download stops after its current chunk (the partial file is removed)."""
        if self.worker is not None:
            self.worker.quit()
            self.worker = None
        super().reject()
