# Windows equivalent of installers/vivid.sh (PowerShell 5+ or 7):
#   powershell -ExecutionPolicy Bypass -File installers\vivid.ps1 run [CLIP]
#   powershell -ExecutionPolicy Bypass -File installers\vivid.ps1 test
# Set-up is skipped when pyproject.toml and this script have not changed since the last one.
param([string]$Command = "run", [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest)
$ErrorActionPreference = "Stop"
$Root = Split-Path -Parent $PSScriptRoot
Set-Location $Root
$Venv = Join-Path $Root ".venv"
$Py = if ($env:PYTHON) { $env:PYTHON } else { "py" }
$TorchPin = "torch==2.13.0"

function Invoke-Setup {
    $stamp = Join-Path $Venv ".vivid-setup"
    $want = (Get-FileHash pyproject.toml).Hash + (Get-FileHash installers\vivid.ps1).Hash
    if ((Test-Path $stamp) -and ((Get-Content $stamp) -eq $want)) { return }
    Write-Host "Setting up $Venv (first run takes a few minutes) ..."
    if (-not (Test-Path (Join-Path $Venv "Scripts\python.exe"))) { & $Py -3.11 -m venv $Venv }
    $vpy = Join-Path $Venv "Scripts\python.exe"
    & $vpy -m pip install -q --upgrade pip
    & $vpy -m pip install -q $TorchPin       # torch first, pinned (see README)
    & $vpy -m pip install -q -e ".[gui,model,dev]"
    Set-Content -Path $stamp -Value $want
}

switch ($Command) {
    "setup" { Invoke-Setup }
    "run" { Invoke-Setup; & (Join-Path $Venv "Scripts\vivid-desktop.exe") @Rest }
    "test" {
        Invoke-Setup
        $bin = Join-Path $Venv "Scripts"
        & "$bin\ruff.exe" check .; if ($LASTEXITCODE) { exit $LASTEXITCODE }
        & "$bin\ruff.exe" format --check .; if ($LASTEXITCODE) { exit $LASTEXITCODE }
        & "$bin\lint-imports.exe"; if ($LASTEXITCODE) { exit $LASTEXITCODE }
        & "$bin\python.exe" -m pytest -q @Rest; exit $LASTEXITCODE
    }
    default { Write-Error "usage: installers\vivid.ps1 [run [CLIP]|test|setup]"; exit 2 }
}
