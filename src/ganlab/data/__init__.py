from ganlab.data.datamodules import (
    ArrayImageDataset,
    IdxDataModule,
    ImageDataModule,
    ImageFolderDataModule,
    MnistMiniDataModule,
)

__all__ = [
    "ArrayImageDataset",
    "IdxDataModule",
    "ImageDataModule",
    "ImageFolderDataModule",
    "MnistMiniDataModule",
]
