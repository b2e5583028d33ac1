# A stand-in for torch so that lava.lib.dl.netx (which imports slayer, which imports torch at
# module level) can be imported; netx's hdf5 reader itself uses no torch.
import sys, types
from unittest import mock
class _Base:
    def __init__(self, *a, **k): pass
class _Mod(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name[:1].isupper():  # classes (nn.Conv3d, ...): a plain base class
            cls = type(name, (_Base,), {})
            setattr(self, name, cls)
            return cls
        m = mock.MagicMock(name=f"{self.__name__}.{name}")
        return m
def _stub(name):
    mod = _Mod(name); mod.__path__ = []; sys.modules[name] = mod; return mod
for n in ["torch", "torch.nn", "torch.nn.functional", "torch.autograd", "torch.utils", "torch.utils.cpp_extension", "torch.nn.modules", "torch.nn.modules.utils", "torch.nn.parameter", "torch.cuda", "torch.nn.utils"]:
    _stub(n)
class _Module:  # torch.nn.Module, torch.autograd.Function as plain bases
    def __init__(self, *a, **k): pass
sys.modules["torch"].nn = sys.modules["torch.nn"]
sys.modules["torch"].torch = sys.modules["torch"]
sys.modules["torch.nn"].Module = _Module
sys.modules["torch.autograd"].Function = _Module
sys.modules["torch"].autograd = sys.modules["torch.autograd"]
sys.modules["torch.cuda"].get_device_capability = lambda *a: (0, 0)
sys.modules["torch.cuda"].is_available = lambda: False
sys.modules["torch"].cuda = sys.modules["torch.cuda"]
for n in ["cv2", "torchvision", "torchvision.ops", "torchvision.transforms", "torchvision.io", "torchvision.models", "tonic", "torchaudio"]:
    _stub(n)
import importlib.abc, importlib.machinery
class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Any torch*/cv2/tonic submodule netx's imports reach for: a stub."""
    roots = ("torch", "torchvision", "cv2", "tonic", "torchaudio")
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in self.roots and name not in sys.modules:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None
    def create_module(self, spec):
        return _stub(spec.name)
    def exec_module(self, module):
        pass
sys.meta_path.insert(0, _Finder())
