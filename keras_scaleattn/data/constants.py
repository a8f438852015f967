"""Constants shared by the data pipeline and the loaders.

`MEAN_RGB` is Caffe VGG-16's ImageNet mean (PAPER.md, "Training": BGR
(104.008, 116.669, 122.675)) written in RGB order, because the pipeline keeps
images in RGB; the model's own preprocessing layer flips to BGR and subtracts
the same mean. Training crops are padded with this mean so that, after the
model's mean subtraction, padded pixels are exactly zero, as in DeepLab's
Caffe data layer.
"""

# Caffe VGG-16 ImageNet mean, RGB order (the paper's BGR mean reversed).
MEAN_RGB = (122.675, 116.669, 104.008)

# Label value that losses and metrics skip (PASCAL VOC's "void" border value).
IGNORE_LABEL = 255
