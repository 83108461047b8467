"""Small CAM CNN and the ensemble wrapper that is exported to ONNX."""
import torch
import torch.nn as nn


def conv_bn_relu(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class CamNet(nn.Module):
    """VGG-style CNN, 128x128 -> 16x16 feature map -> 1x1 conv = class activation map.

    logit = spatial mean of the CAM + bias. Because the logit is a plain average of
    the map, relu(CAM) is an honest heatmap of where the positive evidence is.
    Kept narrow (width 16) so that two members fit the 1 GFLOP budget and a full
    training run fits the shared 2-core CPU.
    """

    def __init__(self, width=16, dropout=0.2):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn_relu(1, w), nn.MaxPool2d(2),                                  # 64
            conv_bn_relu(w, 2 * w), conv_bn_relu(2 * w, 2 * w), nn.MaxPool2d(2),  # 32
            conv_bn_relu(2 * w, 4 * w), conv_bn_relu(4 * w, 4 * w), nn.MaxPool2d(2),  # 16
            conv_bn_relu(4 * w, 8 * w), conv_bn_relu(8 * w, 8 * w),
        )
        self.drop = nn.Dropout(dropout)
        self.cam = nn.Conv2d(8 * w, 1, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        cam = self.cam(self.drop(self.features(x)))          # [N,1,16,16]
        logit = cam.mean(dim=(2, 3)) + self.bias              # [N,1]
        return logit, cam


class ExportEnsemble(nn.Module):
    """What model.onnx contains: probabilities and relu(CAM) averaged over members."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, image):
        scores, maps = [], []
        for m in self.members:
            logit, cam = m(image)
            scores.append(torch.sigmoid(logit))
            maps.append(torch.relu(cam))
        k = float(len(self.members))
        score = scores[0]
        heatmap = maps[0]
        for s, h in zip(scores[1:], maps[1:]):
            score = score + s
            heatmap = heatmap + h
        if len(self.members) > 1:
            score = score / k
            heatmap = heatmap / k
        return score, heatmap


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())
