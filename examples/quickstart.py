"""The README's quick start: build, fit on arrays, save, reload, predict.

    python examples/quickstart.py
"""

import keras
import numpy as np

import keras_scaleattn
from keras_scaleattn import ScaleAttentionSegmenter

# A small model (1/8 of VGG-16's filters) so that this runs on a CPU in
# seconds; trunk_width=1.0 (the default) is the paper's network.
model = ScaleAttentionSegmenter(
    num_classes=3, scales=(1.0, 0.75, 0.5), merge="attention",
    extra_supervision=True, trunk_width=0.125,
)
model.compile(optimizer=keras.optimizers.Adam(1e-3))  # 1 + S losses

# RGB images in [0, 255] of any size >= model.min_input_size, and label
# maps of the same size (255 = ignore).
rng = np.random.default_rng(0)
images = rng.uniform(0, 255, size=(8, 65, 65, 3)).astype("float32")
labels = rng.integers(0, 3, size=(8, 65, 65))
model.fit(images, labels, batch_size=4, epochs=2, verbose=2)

model.save("quickstart.keras")
reloaded = keras.models.load_model("quickstart.keras")  # safe_mode=True
outputs = reloaded.predict(images[:2], verbose=0)
for name, value in outputs.items():
    print(f"{name:16s} {value.shape}")
weights = outputs["attention"]
print("mean attention weight per scale:",
      dict(zip(model.scales, weights.mean(axis=(0, 1, 2)).round(3))))
print("weights sum to 1:", bool(np.allclose(weights.sum(-1), 1.0, atol=1e-5)))
