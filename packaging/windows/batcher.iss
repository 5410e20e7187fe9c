; Inno Setup 6 script: Windows installer for the PyInstaller build in dist\batcher-gui\.
;
;   python packaging\build.py
;   iscc /DAppVersion=0.1.0 packaging\windows\batcher.iss
;   -> dist\batcher-0.1.0-windows-x64-setup.exe
;
; Installs for the current user by default (no administrator needed; the setup offers "all
; users" too), adds a Start-menu entry (and an optional desktop icon), makes .jsonl prompt
; files open with Batcher, and registers an uninstaller (Settings -> Apps). The folder also
; holds batcher.exe, the command line. Workspaces (%LOCALAPPDATA%\batcher-gui) are never
; removed by the uninstaller.
; Written from the Inno Setup documentation; not run here (it needs Windows).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Batcher"
#define AppExe "batcher-gui.exe"
#define ProgId "Batcher.PromptFile"

[Setup]
AppId={{6F0C2B1E-4C7A-4D8E-9B53-2B7A1E0C9D41}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Batcher
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
SourceDir=..\..
OutputDir=dist
OutputBaseFilename=batcher-{#AppVersion}-windows-x64-setup
SetupIconFile=resources\icons\batcher.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "dist\batcher-gui\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; .jsonl (and .ndjson) open with Batcher; HKA is HKCU for a per-user install, HKLM for all users.
Root: HKA; Subkey: "Software\Classes\.jsonl\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.ndjson\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "JSON Lines prompt file"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".jsonl"; ValueData: ""; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".csv"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".xlsx"; ValueData: ""

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
