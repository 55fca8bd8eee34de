import numpy as np

import tinyae as ae

ae.seed(0)                                    # reproducible weights, data order and noise
rng = np.random.default_rng(0)
codes = rng.standard_normal((512, 2))         # toy data: a 2-D curved sheet inside 16-D
x = ae.to_backend(1 / (1 + np.exp(-codes @ rng.standard_normal((2, 16)))), dtype=np.float32)

encoder = ae.Sequential(ae.Dense(16, 32), ae.ReLU(), ae.Dense(32, 2))
decoder = ae.Sequential(ae.Dense(2, 32), ae.ReLU(), ae.Dense(32, 16), ae.Sigmoid())
model = ae.Sequential(encoder, decoder)
loss, opt = ae.MSELoss(), ae.Adam(model.parameters(), lr=1e-2)

for step in range(301):                       # forward, loss, backward by hand, update
    opt.zero_grad()
    value = loss(model(x), x)
    model.backward(loss.backward())
    opt.step()
    if step % 100 == 0:
        print(f"step {step:3d}  reconstruction MSE {value:.5f}")

report = ae.gradcheck.check_module(ae.Dense(4, 3), np.random.default_rng(1).standard_normal((5, 4)))
print(report)                                 # analytic vs numerical gradients, per tensor
