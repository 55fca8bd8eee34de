"""Writes the lecture notebooks, one per demo, in the lecture's order: ``python notebooks/build_notebooks.py``.

The notebooks are generated from this file (edit the text here, then rerun it), and committed
without outputs; tests/test_notebooks.py checks that they match it. Each explains its demo in a few
markdown cells, runs it through ``tinyae.demos.run`` and shows its figures and metrics.
``scripts/run_notebooks.py`` executes them all (CI does, on the digits with one epoch).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETTINGS = """## Settings

These are the demo's settings, as `tinyae demo` takes them. `DATA` is the dataset: by default the
28x28 Fashion-MNIST subset that ships inside tinyae (11,000 training images, offline); `"digits"`
(scikit-learn's 8x8 digits) runs in a few seconds. `EPOCHS = None` keeps the demo's own epoch budget
(set for the default dataset and scaled to see as many images on another); a number overrides it.
CI runs every notebook with `TINYAE_NOTEBOOK_DATA=digits` and `TINYAE_NOTEBOOK_EPOCHS=1`, to check
that it runs, not to get good figures."""

SETUP = """import json
import os

from IPython.display import display

import tinyae
import tinyae.demos

tinyae.set_threads(1)  # one BLAS thread, as `tinyae demo` runs (docs/performance.md)
DATA = os.environ.get("TINYAE_NOTEBOOK_DATA", "fashion-mnist-small")
EPOCHS = int(os.environ["TINYAE_NOTEBOOK_EPOCHS"]) if os.environ.get("TINYAE_NOTEBOOK_EPOCHS") else None"""

RUN = 'result = tinyae.demos.run("{name}", data=DATA, epochs=EPOCHS, progress=False)'

SHOW = """for name, fig in result.figures.items():
    print(name)
    display(fig)"""

METRICS = "print(json.dumps(result.metrics, indent=2))"

# (demo, title, what the model is, the objective, what to look at)
NOTEBOOKS: list[tuple[str, str, str, str, str]] = [
    ("latent", "The latent map: an autoencoder with a 2-D code",
     r"""An **undercomplete autoencoder** squeezes each image through a code smaller than the image.
Here the encoder $f_\phi$ is an MLP 784-128-32-**2** (ReLU hidden layers, a linear code) and the
decoder $g_\theta$ its mirror 2-32-128-784, ending in a sigmoid: every image becomes two numbers
$z = f_\phi(x)$, which can be drawn as a point. PCA with two components, the best *linear* 2-D code,
is the baseline at the same size.""",
     r"""Binary cross-entropy between each pixel and its reconstruction $\hat x = g_\theta(f_\phi(x))$,
averaged over the $N$ images and $D$ pixels:

$$\mathcal{L}(\phi, \theta) = -\frac{1}{ND} \sum_{n=1}^{N} \sum_{i=1}^{D}
\Big[x_{ni} \log \hat x_{ni} + (1 - x_{ni}) \log (1 - \hat x_{ni})\Big]$$

PCA minimises the squared error of a linear projection instead,
$\frac{1}{N} \sum_n \lVert x_n - \mu - W W^\top (x_n - \mu) \rVert^2$ with $W \in \mathbb{R}^{D \times 2}$
orthonormal.""",
     """- `latent_map`: each test image is a point $z$, coloured by its class, which the autoencoder never saw.
  Classes gather in regions; the ones that look alike (T-shirt, shirt, pullover, coat) overlap.
- `reconstructions`: two numbers hold a class and a rough shape, not details: the outputs are blurry prototypes.
- `pca_vs_autoencoder`: the same images through PCA and through the autoencoder, with each one's test MSE:
  a non-linear code of the same size loses less.
- `training_curves`: training (solid) and validation (dashed) loss per epoch."""),
    ("denoising", "Denoising autoencoders",
     r"""A **denoising autoencoder** is given a corrupted image $\tilde x$ and trained to output the
*clean* one, so it cannot just copy its input: it has to learn what images of this kind look like.
The model is an MLP 784-128-32 (and back), trained twice: with Gaussian noise,
$\tilde x = \operatorname{clip}(x + \sigma \varepsilon, 0, 1)$ with $\sigma = 0.3$ and
$\varepsilon \sim \mathcal{N}(0, I)$, and with masking noise, each pixel set to 0 with probability 0.5.
A fresh corruption is drawn for every batch.""",
     r"""Binary cross-entropy between the clean image and the reconstruction of its corrupted copy:

$$\mathcal{L} = \mathbb{E}_{x}\, \mathbb{E}_{\tilde x \sim q(\tilde x \mid x)}
\Big[\operatorname{BCE}\big(x,\; g_\theta(f_\phi(\tilde x))\big)\Big]$$

The figures report the peak signal-to-noise ratio over the whole test set, for images in [0, 1]:
$\operatorname{PSNR} = 10 \log_{10} \big(1 / \operatorname{MSE}\big)$ dB (higher is better; +3 dB halves the error).""",
     """- `denoising_gaussian`, `denoising_masking`: clean, noisy and denoised test images, one of each class,
  with the PSNR before and after in the title.
- The denoised images are smoother than the clean ones: what the 32-number code cannot hold (fine
  texture) is lost along with the noise.
- With masking, half the pixels are gone, yet the outputs fill the missing parts in from what the
  model learnt of each class's shape."""),
    ("sparse", "Sparse autoencoders: L1 and KL(ρ)",
     r"""A **sparse autoencoder** has a wide code (here 100 units) but is penalised for using it: each
image should turn on only a few units, so each unit has to stand for something specific. Two
penalties on the code $h = f_\phi(x)$ (shape $N \times k$): L1 on a ReLU code, and Ng's KL(ρ) target on a
sigmoid code, whose units should be on 5% of the time on average ($\rho = 0.05$). The decoder is one
Dense layer and a sigmoid, so each unit's row of the decoder weight is what it adds to the image.""",
     r"""The reconstruction loss plus a weighted penalty on the code:

$$\mathcal{L} = \operatorname{BCE}(x, \hat x) + \lambda\, \frac{1}{N} \sum_{n} \sum_{j} \lvert h_{nj} \rvert
\qquad \text{(L1, } \lambda = 3 \cdot 10^{-4}\text{)}$$

$$\mathcal{L} = \operatorname{BCE}(x, \hat x) + \beta \sum_{j} \Big[\rho \log \frac{\rho}{\hat\rho_j}
+ (1 - \rho) \log \frac{1 - \rho}{1 - \hat\rho_j}\Big], \quad \hat\rho_j = \frac{1}{N} \sum_n h_{nj}
\qquad \text{(KL, } \beta = 0.1\text{)}$$

The KL term is the divergence between Bernoulli($\rho$) and Bernoulli($\hat\rho_j$): zero when unit $j$'s
mean activation over the batch is the target. (Derivations: `docs/sparse.md`.)""",
     """- `filters_l1`, `filters_kl`: the decoder weights of the 32 units most often on, on one colour scale
  (red adds ink, blue removes it), each marked with the share of test images that turn it on; the
  title says how many of the 100 units are never on. Units become strokes and parts of garments.
- `activations`: histograms (log scale) of every activation on the test set: most sit at or near 0,
  and the KL code's mean lands near ρ."""),
    ("anomaly", "Anomaly detection by reconstruction error",
     r"""An autoencoder reconstructs well what it was trained on and badly what it never saw. Here an
MLP 784-64-8 is trained on five classes only (T-shirt/top, trouser, pullover, dress, coat; on the
digits 0-4); every test image is then scored by its reconstruction error, and the other five classes
play the anomalies. No anomaly is seen in training.""",
     r"""Training minimises the binary cross-entropy of the normal images. The anomaly score of an image is its
mean squared reconstruction error,

$$s(x) = \frac{1}{D} \lVert x - g_\theta(f_\phi(x)) \rVert^2 ,$$

flagged when $s(x) > \tau$, with $\tau$ the 95th percentile of the scores of the normal *training* images
(so about 5% false alarms by construction). The ROC AUC is the probability that a random anomaly
scores above a random normal image: 1 is perfect, 0.5 is chance; it needs no threshold.""",
     """- `anomaly_scores`: histograms of the scores of normal and anomalous test images, the threshold, the AUC.
- The overlap is where the detector fails. Anomalies that look like the normal classes (shirts look
  like T-shirts and pullovers) reconstruct well and slip under the threshold; bags and shoes do not.
- The metrics give the detection rate and the false-alarm rate at the threshold."""),
    ("vae", "The variational autoencoder",
     r"""A **VAE** makes the autoencoder a generative model. The encoder outputs a distribution over
codes, $q_\phi(z \mid x) = \mathcal{N}\big(\mu_\phi(x), \operatorname{diag} \sigma^2_\phi(x)\big)$, the decoder gives
Bernoulli pixel probabilities $p_\theta(x \mid z)$, and the codes are pulled towards the prior
$p(z) = \mathcal{N}(0, I)$, so that decoding a draw from the prior gives a plausible image. Here the
encoder is 784-128-(2 + 2) ($\mu$ and $\log \sigma^2$ of a 2-D code) and the decoder 2-128-784.""",
     r"""The negative evidence lower bound (ELBO) per image, in nats, with a weight $\beta$ on the KL term:

$$\mathcal{L} = \mathbb{E}_{q_\phi(z \mid x)} \big[-\log p_\theta(x \mid z)\big]
+ \beta\, \operatorname{KL}\big(q_\phi(z \mid x) \,\Vert\, \mathcal{N}(0, I)\big),
\qquad \operatorname{KL} = -\frac{1}{2} \sum_j \big(1 + \log \sigma_j^2 - \mu_j^2 - \sigma_j^2\big)$$

The expectation is estimated with one sample, $z = \mu + \sigma \odot \varepsilon$, $\varepsilon \sim \mathcal{N}(0, I)$
(the reparameterisation trick: the randomness is an input, so gradients flow to $\mu$ and $\sigma$).
$\beta = 1$ is the VAE; the demo also trains $\beta = 0.5$ and $4$. (Derivation: `docs/vae.md`.)""",
     """- `samples`: decodings of 50 draws $z \\sim \\mathcal{N}(0, I)$: new images, not reconstructions.
- `manifold`: a grid of codes at the prior's 5%-95% quantiles, decoded; neighbouring codes give
  similar images, and one class morphs into the next.
- `interpolation`: the straight line between two test images' codes, decoded (the real images at the row ends).
- `training_curves`: the loss and its two terms, reconstruction and KL.
- `beta_comparison`: the same prior draws decoded by the three models: a larger β pulls the codes
  harder to the prior and gives smoother, blurrier, more prototypical images."""),
    ("cvae", "The conditional VAE",
     r"""A **conditional VAE** is a VAE that is also given the label $y$ (one-hot) at both ends: the
encoder sees $(x, y)$ and the decoder $(z, y)$. Since the decoder is told the class, the 2-D code no
longer has to carry it and is free to hold the rest (thickness, width, slant); at generation time
one picks the class and draws $z$ from the prior.""",
     r"""The negative ELBO, conditioned on the label:

$$\mathcal{L} = \mathbb{E}_{q_\phi(z \mid x, y)} \big[-\log p_\theta(x \mid z, y)\big]
+ \operatorname{KL}\big(q_\phi(z \mid x, y) \,\Vert\, \mathcal{N}(0, I)\big)$$""",
     """- `samples_by_class`: ten draws from the prior for each label, one row per class: each row should
  show its class, in varied styles.
- Compare with the unconditional VAE's samples, where the class itself is left to chance."""),
    ("conv", "The convolutional autoencoder",
     r"""A **convolutional autoencoder** uses the image's structure: the encoder is two 3x3 convolutions of
stride 2 with ReLU (8 then 16 channels; 28x28 -> 14x14 -> 7x7), then a Dense layer to a 32-number
code (16 on the digits); the decoder mirrors it with a Dense layer and transposed convolutions back
to 28x28 and a sigmoid. The same small filters slide over the whole image, so the model has few
weights for its size.""",
     r"""Binary cross-entropy per pixel, as for the MLP autoencoder:

$$\mathcal{L} = \operatorname{BCE}\big(x, g_\theta(f_\phi(x))\big), \qquad
\text{compression ratio} = \frac{D}{k} = \frac{784}{32} = 24.5$$

for $D$ pixels and a code of $k$ numbers.""",
     """- `reconstructions`: test images over their reconstructions, with the compression ratio and the test MSE.
- `training_curves`: training and validation loss per epoch.
- The metrics put the test MSE beside the mean image's, the error of knowing nothing about the image."""),
    ("features", "Feature learning: codes for a classifier",
     r"""Can an autoencoder, trained **without labels**, give features that make classification easier?
An MLP autoencoder 784-128-16 is trained on all training images; then a logistic regression is
trained on 5,000 labelled images (at most half of the training set) from three inputs: the raw
pixels (784 numbers), 16 PCA codes, and the 16 autoencoder codes, each standardised. Three seeds:
each trains its own autoencoder and draws its own labelled images.""",
     r"""The autoencoder minimises the reconstruction BCE. The classifier is multinomial logistic regression
(softmax) on the features $h$ (pixels, PCA or autoencoder codes), with scikit-learn's L2 penalty:

$$\min_{W, b}\; -\sum_{n} \log \operatorname{softmax}(W h_n + b)_{y_n} + \frac{1}{2} \lVert W \rVert^2$$""",
     """- `accuracy`: the test accuracy of each input, every run a dot, the mean a bar, the range a line;
  the axis is zoomed to the data, so read the numbers.
- 16 autoencoder codes against 16 PCA codes: the same size, one non-linear and one linear. Against
  784 raw pixels: how much of what the labels need survives the squeeze."""),
    ("stacked", "Stacked autoencoders: greedy layer-wise pretraining",
     r"""A **stacked autoencoder** 784-64-32-16 (sigmoid units) can be trained the 2006 way: **greedy
layer-wise pretraining**. First a shallow autoencoder 784-64-784 on the images, then 64-32-64 on
their fixed 64-unit codes, then 32-16-32; then the blocks are stacked into the deep autoencoder and
**fine-tuned** end to end. The comparison is the same network trained from scratch for as many
passes over the data as pretraining and fine-tuning together.""",
     r"""Block pair $k$ is trained on the codes $h^{(k-1)}$ of the blocks before it ($h^{(0)} = x$), which
stay fixed:

$$\min_{\phi_k, \theta_k}\; \frac{1}{N} \sum_n
\ell\Big(h^{(k-1)}_n,\; g_{\theta_k}\big(f_{\phi_k}(h^{(k-1)}_n)\big)\Big)$$

with $\ell$ the BCE for the outer pair and the MSE for the inner ones; fine-tuning minimises the
BCE of the whole stack, $\operatorname{BCE}\big(x, g_1(\dots g_3(f_3(\dots f_1(x))))\big)$.""",
     """- `pretraining`: the validation BCE per epoch of both runs on one axis; the pretraining epochs are
  shaded (a pretraining pass trains one block pair, not the whole net).
- The pretrained curve starts where pretraining left it: is it ahead of the one from scratch, and
  does the lead last once both have had as many passes over the data?"""),
    ("superres", "Super-resolution: learning to undo a 2x downscale",
     r"""The encoder-decoder idea does not need the target to be the input. Here each image is shrunk by
2x2 average pooling (28x28 -> 14x14; the 8x8 digits -> 4x4), and a small convolutional network learns
the way back: a 3x3 convolution to 32 feature maps with ReLU at the low resolution, then a 4x4
transposed convolution of stride 2 to the full size and a sigmoid. It is compared with two fixed
upscalings that learn nothing: nearest neighbour (each low-res pixel becomes a 2x2 block) and
bilinear interpolation.""",
     r"""Trained on pairs (low-res $u$, original $x$): the binary cross-entropy of the upscaled image
against the original,

$$\mathcal{L} = \operatorname{BCE}\big(x,\; g_\theta(u)\big), \qquad u = \operatorname{pool}_{2 \times 2}(x),$$

and judged, like the baselines, by the PSNR on the test set: $10 \log_{10}\big(1 / \operatorname{MSE}\big)$ dB
(of the mean squared error over all test pixels). It is an ordinary `tinyae.Autoencoder`, trained by
`fit(model, optimizer, u_train, u_val, targets=x_train, val_targets=x_val)`: `targets=` are what it
must output for each input (by default, the input itself).""",
     """- `superres_rows`: the low-res input (at its actual size), nearest, bilinear, the learnt upscaling and
  the original, one row each, one test image of each class; each method's PSNR on the whole test set
  labels its row, and the title gives the learnt model's margin over bilinear.
- Nearest is blocky and bilinear blurry; the network has seen many garments and sharpens edges
  where the class makes them likely, which is a prior, not information recovered from the pixels."""),
    ("compression", "Compression in bits: an autoencoder as a lossy codec",
     r"""An autoencoder's code is a compressed file once it is stored in few bits. MLP autoencoders
784-128-$k$ ($k$ = 4, 16, 64) are trained as usual; then each number of a test image's code is
quantised to $b$ bits ($b$ = 2 to 8) and the $k b$ bits are packed into $\lceil k b / 8 \rceil$ bytes: that is the
file. The decoder and the quantiser's ranges are shared by every image, like a codec's tables, so they
are not counted per image. PCA ($k$ up to 512) is the same codec with a linear encoder and decoder.
JPEG (Pillow, quality 1-95) is counted as the whole .jpg file, headers included (170-186 bytes of a
28x28 image's file), and its entropy-coded scan alone is shown as well.""",
     r"""Training minimises the reconstruction BCE; quantisation comes after. Code unit $j$ takes values in
$[\ell_j, u_j]$ on the training set; with $L = 2^b - 1$ steps of $\Delta_j = (u_j - \ell_j) / L$, a value
$z_j$ is stored as the integer
$q_j = \operatorname{clip}\big(\operatorname{round}((z_j - \ell_j) / \Delta_j), 0, L\big)$ and read back as
$\hat z_j = \ell_j + q_j \Delta_j$ (error at most $\Delta_j / 2$ inside the range). Rate and quality:

$$\text{bpp} = \frac{8 \cdot \text{bytes per image}}{H W}, \qquad
\operatorname{PSNR} = 10 \log_{10} \frac{1}{\operatorname{MSE}\big(x, g_\theta(\hat z)\big)} \ \text{dB}$$""",
     """- `rate_distortion`: PSNR (of the mean squared error pooled over the 200 test images) against bits per
  pixel; one curve per code size for the autoencoders and for PCA (hollow markers), JPEG as whole files
  and as scans only; shaded where JPEG beats every code of the same or fewer bytes. Each curve flattens:
  more bits cannot give more than the decoder can draw from $k$ numbers.
- The curves overlap: PCA's codes reach 512 bytes, into JPEG's whole files (198-673 bytes); the
  autoencoders' reach 64 bytes, into JPEG's scans (28-488 bytes). On the default data (one run, 2
  epochs): within JPEG's smallest file (198 bytes, 18.2 dB) PCA gets 25.2 dB and the autoencoder 17.2
  dB; PCA beats JPEG's whole file up to quality 40 (349 bytes), and JPEG wins above 4.3 bits per pixel
  (418 bytes); JPEG's scan alone wins above 0.73 bits per pixel (72 bytes).
- The autoencoder beats PCA only at 1-3 bytes per image (15.5 against 14.8 dB at 2 bytes); with
  `EPOCHS = 20` up to 16 bytes (18.3 against 16.9 dB at 8 bytes), and it still levels off near 19.4 dB:
  on this budget a linear code of many numbers is the better codec.
- The examples figure: the best autoencoder and PCA codes within JPEG's smallest file, within its scan
  alone and within 4 bytes, beside that JPEG file, each row labelled with its bytes and dB."""),
    ("finetune", "Pretraining and fine-tuning with few labels",
     r"""Feature learning as the lecture notes do it. An MLP autoencoder 784-64-32 is pretrained on every
training image, **without labels**. Then, with a few labels per class (10 and 100 on the default data,
10 and 50 on the digits) or all of them, a softmax head is trained on raw pixels, on PCA codes, and on
the codes of the **frozen** pretrained encoder; and the pretrained encoder with its head is
**fine-tuned**. The same network trained from scratch on the same labels shows how much of the result
is the pretraining. Every budget runs with 3 seeds, each drawing its own labelled images and initial
weights; the gain is paired: fine-tuned minus scratch on the same labels and seed.""",
     r"""The head is multinomial logistic regression on features $h$, trained by cross-entropy:

$$\mathcal{L}(W, b) = -\frac{1}{N} \sum_{n} \log \operatorname{softmax}\big(W h_n + b\big)_{y_n}$$

Frozen: $h = f_\phi(x)$ with $\phi$ fixed from pretraining, only $W, b$ learn (the frozen codes never
change, so the head is trained on them computed once). Fine-tuned: the same loss is minimised over
$\phi$ too, starting from the pretrained $\phi$. From scratch: over $\phi$, from a random start.""",
     """- Left: test accuracy of the five methods against labels per class, the mean of 3 seeds with a bar
  from the lowest to the highest seed. Right: each seed's pretraining gain in points.
- On the default data the fine-tuned network beats the same network from scratch by +0.9 points at 10
  a class and +1.9 at 100 (ahead in all 3 seeds at both), and +0.1 with all labels (2 of 3). A real
  gain, but a small one: at 10 a class the draw of the labels moves every method by 5-8 points.
- The frozen codes are the worst input for a linear head at 100 a class and with all labels (0.741
  and 0.755, against 0.765 and 0.816 for raw pixels): 32 numbers trained to redraw the image keep less
  of what a linear head needs than the pixels do. A denoising autoencoder, longer pretraining, other
  code sizes or activations, and standardised codes did not change that.
- Every classifier in a budget gets the same number of steps (60 epochs at 10 a class, 8 at 100, 2
  with all labels). With all labels the small gain is a head start: trained longer, scratch catches up."""),
    ("tabular", "Anomaly detection on tabular data: benign and malignant tumours",
     r"""The detector of the `anomaly` demo on a table instead of images: scikit-learn's Wisconsin breast
cancer data, 569 tumours described by 30 numeric features (measurements of cell nuclei), 212 of them
malignant. The demo ignores `DATA` (it brings its own data). An autoencoder 30-16-**4**-16-30 (ReLU, a
linear code and output) learns what "normal" looks like from 70% of the **benign** tumours only, no
labels; the test set is the other benign tumours and every malignant one. The baselines learn from
the same benign cases: PCA's reconstruction error at the same code size ($k = 4$), and an isolation
forest.""",
     r"""The features are standardised with the mean and standard deviation of the benign training cases
(they have different units and scales). The autoencoder minimises the MSE of those cases, and a
tumour's anomaly score is its reconstruction error,

$$s(x) = \frac{1}{D} \lVert x - g_\theta(f_\phi(x)) \rVert^2, \qquad D = 30 .$$

PCA's score is the same error for the projection onto 4 principal components; the isolation forest
scores a case by how few random splits isolate it. Each is judged by its ROC curve (detection rate
against false-alarm rate, over every threshold) and the area under it, the AUC (1 perfect, 0.5 chance).""",
     """- `tabular_roc`: the ROC curves of the three detectors, each with its AUC: the closer to the
  top-left corner, the better; the dotted diagonal is chance.
- With about 100 benign test cases, AUCs closer than about 0.02 are within the noise of the split:
  on a small table a linear baseline is hard to beat."""),
    ("recommender", "A recommender: AutoRec with a masked loss",
     r"""Item-based **AutoRec** (Sedhain et al., 2015) predicts missing ratings. The demo ignores `DATA` and
makes its own ratings: a synthetic 1000 users x 600 items matrix of 1-5 stars, drawn from a rank-5
model plus noise, with **95% of the entries missing** (set `TINYAE_MOVIELENS` to a MovieLens ratings
file to use real ones). Each item is the vector of its ratings by all users,
$r \in \mathbb{R}^{\#\text{users}}$ (0 where unrated), reconstructed through one hidden sigmoid layer of
100 units, $\hat r = \sigma(r W_1 + b_1) W_2 + b_2$; a missing rating is predicted by $\hat r$ at that entry.
The observed ratings are split 85% / 5% / 10% into training, validation and test. Baselines: the
global mean rating, each item's mean rating, and iterative SVD imputation (a rank-$k$ approximation
that refills the missing entries until it settles; $k$ chosen on the validation ratings).""",
     r"""The **masked** MSE: only observed ratings count, with $m_i = 1$ where $r_i$ is observed and 0
where it is missing,

$$\mathcal{L} = \frac{1}{\sum_i m_i} \sum_i m_i\, (\hat r_i - r_i)^2 \quad \text{(plus AdamW's weight decay)} .$$

A missing rating is unknown, not a zero: nothing may pull its prediction towards 0. Every method is
scored by the RMSE on the test ratings, $\sqrt{\frac{1}{n} \sum (\hat r - r)^2}$, its predictions clipped to
1-5 stars. (Derivation: `docs/masked-mse.md`.)""",
     """- `recommender_training`: AutoRec's training and validation RMSE per epoch, beside the SVD's and the
  item mean's validation RMSE (the epoch with the best validation RMSE is kept, marked by the dashed line).
- `recommender_rmse`: the test RMSE of each method (lower is better): the global mean knows nothing, the item mean knows
  which items are liked, SVD and AutoRec also use each user's taste, learnt from 5% of the matrix."""),
    ("animation", "A latent map that moves: training, epoch by epoch",
     r"""The `latent` and `vae` demos show where training ends; this one shows how it gets there. A 2-D-code
autoencoder (MLP 784-128-32-2, as in `latent`) and a VAE with a 2-D latent (784-128-(2 + 2), as in
`vae`) are trained on 4,000 training images, and a fit callback records after every epoch the codes
of a fixed draw of test images (50 of each class) and the VAE's decodings of a 12x12 grid of codes.
Each becomes an animated GIF (`tinyae.plot.write_gif`: matplotlib draws the frames, Pillow writes
them), one frame an epoch (12 frames at most, evenly spaced, for a longer budget), titled with the
epoch and the validation loss.""",
     r"""The autoencoder minimises the per-pixel binary cross-entropy, the VAE the negative ELBO (nats per image):

$$\mathcal{L}_{\text{AE}} = \operatorname{BCE}\big(x, g_\theta(f_\phi(x))\big), \qquad
\mathcal{L}_{\text{VAE}} = \mathbb{E}_{q_\phi(z \mid x)} \big[-\log p_\theta(x \mid z)\big]
+ \operatorname{KL}\big(q_\phi(z \mid x) \,\Vert\, \mathcal{N}(0, I)\big)$$

A callback is called after each epoch as `callback(epoch, history, model)`: it reads the model and
`history["val_loss"]`, and changes nothing.""",
     """- `latent_animation.gif`: the axes are fixed over all frames, so the motion is the model's: the
  classes sort themselves out in the first epochs; after that the map mostly stretches, turns and
  tightens, while the validation loss in the title falls more and more slowly.
- `manifold_animation.gif`: the decoded grid at the prior's quantiles, from grey blobs to garments,
  with one class morphing into the next; it sharpens as the reconstruction term falls.
- The GIFs are written only with an output folder: this notebook passes `tinyae-figures/`, beside it
  (the GIFs and the last frames as PNGs go into `tinyae-figures/animation/`). Without one, the demo
  keeps the last frames as figures (`latent_final`, `manifold_final`)."""),
]

ANIMATION_RUN = """OUT = "tinyae-figures"  # the GIFs are written only with an output folder: OUT/animation/
result = tinyae.demos.run("animation", data=DATA, epochs=EPOCHS, progress=False, out=OUT)"""

ANIMATION_SHOW = """from IPython.display import Image

gifs = [path for path in result.files if path.suffix == ".gif"]
for path in gifs:
    print(path.name)
    display(Image(filename=str(path)))
if not gifs:  # no output folder: the last frames
    for name, fig in result.figures.items():
        print(name)
        display(fig)"""


def notebook(number: int, name: str, title: str, model: str, objective: str, look: str) -> nbformat.NotebookNode:
    animated = name == "animation"
    cells = [
        new_markdown_cell(f"# {number}. {title}\n\n{model}\n\nThe demo: `tinyae demo {name}` "
                          f"(or `python demos/{name}.py`) writes the same figures into `tinyae-figures/{name}/`."),
        new_markdown_cell(f"## The objective\n\n{objective}"),
        new_markdown_cell(f"## What to look at\n\n{look}"),
        new_markdown_cell(SETTINGS),
        new_code_cell(SETUP),
        new_markdown_cell("## Run the demo\n\nIt trains its models, then returns its figures and metrics "
                          "(without an output folder it writes nothing)." if not animated else
                          "## Run the demo\n\nIt trains both models and writes the two GIFs into "
                          "`tinyae-figures/animation/`."),
        new_code_cell(ANIMATION_RUN if animated else RUN.format(name=name)),
        new_code_cell(ANIMATION_SHOW if animated else SHOW),
        new_markdown_cell("## The metrics\n\nThe numbers of the demo's `metrics.json`: its settings, each "
                          "model's epochs and results, and its wall time."),
        new_code_cell(METRICS),
    ]
    for k, cell in enumerate(cells):
        cell.id = f"{name}-{k}"  # fixed cell ids (not random ones): the file is the same every time it is built
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    return nb


def build() -> dict[str, str]:
    """The notebooks' file names and contents."""
    return {f"{k:02d}_{name}.ipynb": nbformat.writes(notebook(k, name, *text)) + "\n"
            for k, (name, *text) in enumerate(NOTEBOOKS, start=1)}


def main() -> int:
    for filename, text in build().items():
        (HERE / filename).write_text(text)
        print(HERE / filename)
    return 0


if __name__ == "__main__":
    sys.exit(main())
