"""Data: from photos on disk to tensors.

A dataset folder (GLDv2's layout, one folder per class, or the embedded demo) is read into
a catalog (`datasets`), curated to its top classes and split by class (`datasets`). Images
are decoded safely whatever the file holds (`images`) and fed to a backbone by tf.data
(`pipeline`). Photos dropped on the app arrive through `uploads`; what the Dataset page
shows of a catalog (galleries, thumbnails, image sizes, recent datasets) is `browse`.
"""
