from ganlab.data.datamodules import ArrayImageDataset, ImageDataModule
from ganlab.data.folder import ImageFolderDataModule
from ganlab.data.mnist import IdxDataModule, MnistMiniDataModule

__all__ = [
    "ArrayImageDataset",
    "IdxDataModule",
    "ImageDataModule",
    "ImageFolderDataModule",
    "MnistMiniDataModule",
]
