"""Data: from photos on disk to tensors.

A dataset folder (GLDv2's layout, one folder per class, or the embedded demo) is read into
a catalog (`datasets`), curated to its top classes and split by class (`datasets`). Images
are decoded safely whatever the file holds (`images`) and fed to a backbone by tf.data
(`pipeline`). Photos dropped on the app arrive through `uploads`; what the Dataset page
shows of a catalog (galleries, thumbnails, image sizes, recent datasets) is `browse`, over
`class_index` (the classes indexed once, so 4.1M rows browse at once) and `long_tail`.
The photos of a GLDv2 release's curated classes are got by `fetch`, from their URLs
(`downloads`) or the release's tar shards (`tar_shards`); `attribution` credits each photo.
"""
