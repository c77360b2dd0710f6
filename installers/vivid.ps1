# Windows equivalent of installers/vivid.sh (PowerShell 5+ or 7):
#   powershell -ExecutionPolicy Bypass -File installers\vivid.ps1 run [CLIP]
#   powershell -ExecutionPolicy Bypass -File installers\vivid.ps1 test [PYTEST ARGS]
#   powershell -ExecutionPolicy Bypass -File installers\vivid.ps1 setup
#   powershell -ExecutionPolicy Bypass -File installers\vivid.ps1 torch-build
# Every package at the version requirements\lock-linux.txt names (used as constraints: the same versions;
# the few packages only Windows needs are not in it). Set-up is skipped when pyproject.toml, the lock,
# this script and the torch build have not changed (a stamp in .venv).
# torch: $env:VIVID_TORCH = auto (default: the CUDA build when nvidia-smi works), cpu, cuda, or a build
# tag such as cu128; $env:VIVID_TORCH_INDEX = a mirror of download.pytorch.org/whl, or "none".
param([string]$Command = "run", [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest)
$ErrorActionPreference = "Stop"
$Root = Split-Path -Parent $PSScriptRoot
Set-Location $Root
$Venv = Join-Path $Root ".venv"
$Lock = Join-Path $Root "requirements\lock-linux.txt"
$Py = if ($env:PYTHON) { $env:PYTHON } else { "py" }
$PyArgs = if ($env:PYTHON) { @() } else { @("-3") }
$TorchVersion = (Select-String -Path $Lock -Pattern '^torch==([0-9][0-9.]*)$').Matches[0].Groups[1].Value
# CUDA builds published for that torch version on download.pytorch.org, newest first (as in vivid.sh).
$TorchCudaBuilds = @("cu130", "cu128", "cu126")
$TorchIndex = if ($env:VIVID_TORCH_INDEX) { $env:VIVID_TORCH_INDEX } else { "https://download.pytorch.org/whl" }

function Fail([string]$Message) { Write-Host "vivid.ps1: $Message" -ForegroundColor Red; exit 1 }

function Invoke-Checked {
    # Run a native command and stop on a non-zero exit (PowerShell 5 does not for native commands).
    param([string]$Exe, [string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE) { Fail "$Exe $($Arguments -join ' ') failed (exit $LASTEXITCODE)" }
}

function Get-DriverCuda {
    # The CUDA version the NVIDIA driver supports ("12.8"), or $null.
    $smi = Get-Command nvidia-smi -ErrorAction SilentlyContinue
    if (-not $smi) { return $null }
    try { $text = (& $smi.Source 2>$null) -join "`n" } catch { return $null }  # a driver that fails
    if ($text -match 'CUDA Version:\s*([0-9]+)\.([0-9]+)') { return "$($Matches[1]).$($Matches[2])" }
    return $null
}

function Get-TorchBuild {
    $want = if ($env:VIVID_TORCH) { $env:VIVID_TORCH } else { "auto" }
    if ($want -eq "cpu" -or $want -match '^cu[0-9]+$') { return $want }
    if ($want -ne "auto" -and $want -ne "cuda") { Fail "VIVID_TORCH=${want}: use auto, cpu, cuda or a build tag such as cu128" }
    $cuda = Get-DriverCuda
    if (-not $cuda) {
        if ($want -eq "cuda") { Fail "VIVID_TORCH=cuda, but nvidia-smi does not work here (no NVIDIA driver?)" }
        return "cpu"
    }
    $major, $minor = $cuda.Split(".")
    $driver = [int]$major * 10 + [int]$minor
    foreach ($tag in $TorchCudaBuilds) {
        if ([int]$tag.Substring(2) -le $driver) { return $tag }
    }
    Write-Host "The NVIDIA driver supports CUDA $cuda, older than every CUDA build of torch $TorchVersion; installing the CPU build."
    return "cpu"
}

function Install-Torch([string]$Build, [string]$VenvPy) {
    $pin = "torch==$TorchVersion+$Build"
    # (prints nothing when torch is missing: stderr output would stop Windows PowerShell 5 here)
    $have = "$(& $VenvPy -c "import importlib.metadata as m; print(next((d.version for d in m.distributions() if d.metadata['Name'] == 'torch'), ''))")".Trim()
    if ($have -eq "$TorchVersion+$Build") { return }
    if ($Build -eq "cpu") {
        Write-Host "Installing torch $TorchVersion, CPU build (`$env:VIVID_TORCH = 'cuda' for an NVIDIA GPU) ..."
    } else {
        Write-Host "Installing torch $TorchVersion, CUDA build $Build from $TorchIndex/$Build (`$env:VIVID_TORCH = 'cpu' for the CPU build) ..."
    }
    # (a pin with the build tag replaces another build of the same version; a failed install keeps it)
    $from = if ($TorchIndex -eq "none") { @() } else { @("--extra-index-url", "$TorchIndex/$Build") }
    Invoke-Checked $VenvPy (@("-m", "pip", "install", "-q") + $from + @($pin))
}

function Invoke-Setup([string]$Extras) {
    if (-not $TorchVersion) { Fail "no torch==VERSION line in $Lock" }
    $build = Get-TorchBuild
    $stamp = Join-Path $Venv ".vivid-setup"
    $hash = (Get-FileHash pyproject.toml).Hash + (Get-FileHash installers\vivid.ps1).Hash + (Get-FileHash $Lock).Hash
    $want = "$hash torch+$build"
    if ((Test-Path $stamp)) {
        $lines = Get-Content $stamp
        if (($lines -contains $want) -and ($lines -contains "extras $Extras")) { return }
    }
    Write-Host "Setting up $Venv (first run takes a few minutes) ..."
    $vpy = Join-Path $Venv "Scripts\python.exe"
    if (-not (Test-Path $vpy)) {
        & $Py @PyArgs -c "import sys; sys.exit(sys.version_info < (3, 11))"
        if ($LASTEXITCODE) { Fail "VIVID Desktop needs Python 3.11 or newer (set `$env:PYTHON to one)" }
        Invoke-Checked $Py ($PyArgs + @("-m", "venv", $Venv))
    }
    Invoke-Checked $vpy @("-m", "pip", "install", "-q", "--upgrade", "pip")
    Install-Torch $build $vpy
    Invoke-Checked $vpy @("-m", "pip", "install", "-q", "-c", $Lock, "-e", ".[$Extras]")
    Invoke-Checked $vpy @("-m", "pip", "check")
    $lines = @($want, "extras $Extras")
    if ($Extras -eq "gui,model,otio,dev") { $lines += "extras gui,model,otio" }
    Set-Content -Path $stamp -Value $lines
}

$bin = Join-Path $Venv "Scripts"
switch ($Command) {
    "setup" { Invoke-Setup "gui,model,otio" }
    "torch-build" { Get-TorchBuild }
    "run" {
        Invoke-Setup "gui,model,otio"
        & "$bin\vivid-desktop.exe" @Rest
        exit $LASTEXITCODE
    }
    "test" {
        Invoke-Setup "gui,model,otio,dev"
        if (-not $env:QT_QPA_PLATFORM) { $env:QT_QPA_PLATFORM = "offscreen" }
        Invoke-Checked "$bin\ruff.exe" @("check", ".")
        Invoke-Checked "$bin\ruff.exe" @("format", "--check", ".")
        Invoke-Checked "$bin\lint-imports.exe" @()
        & "$bin\python.exe" -m pytest -q @Rest
        exit $LASTEXITCODE
    }
    default { Write-Host "usage: installers\vivid.ps1 [run [CLIP]|test [PYTEST ARGS]|setup|torch-build]"; exit 2 }
}
