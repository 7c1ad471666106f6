"""The plaintext RESTORE.txt written into every vault. Keep it in step with vault-format.md.

It is for a person who has the vault but no companion, so it must be safe to follow literally:
everything decrypted (the key, the catalogue with private places, the photos) goes to a private
temporary folder outside the vault, never into the vault (which may sit on a shared or synced
disk); catalogue segments are checked against their MAC before they are trusted, since anyone
can encrypt a file to the vault's public recipient; and every restored file is checked against
the catalogue's SHA-256 before it is kept. Each command block is indented by exactly five
spaces, so that tests/test_restore_recipe.py can run the blocks as written.
"""

RESTORE_TEXT = r"""COMPANION VAULT - HOW TO GET YOUR PHOTOS BACK WITHOUT COMPANION
===============================================================

This folder holds encrypted copies of photos and videos made by companion
(vault format 1). Every file in it is a standard "age" file, so you can get
everything back with free tools alone: `age` (https://age-encryption.org),
`jq`, `openssl` and `sha256sum` (packages age, jq, openssl and coreutils on
Debian, Ubuntu or Fedora; on a Mac, `brew install age jq`). You need your
vault passphrase, or the recovery key printed by `companion key export`.

With companion installed, simply run:   companion restore --to SOME_FOLDER

Without companion, follow the steps below in a terminal. Each block of
commands (the lines indented by five spaces) can be pasted whole, as it is;
then press Enter. Do every step in the same terminal window: the blocks
share what step 1 sets up. Nothing is written into this vault folder: your
key, the list of your files and your photos are decrypted into a private
work folder that only you can read, and that you delete at the end.

Do not edit, rename or delete files in this folder by hand: companion checks
every object against its catalogue, and files here are written once.


1. Open a terminal in this vault folder (or `cd` into it). If it is not bash
   (a Mac starts zsh), type  bash  and press Enter. Then make the work folder:

     umask 077
     vault="$(pwd)"
     ls "$vault/companion-vault.json" && work="$(mktemp -d)" && cd "$work" &&
       echo "Work folder: $work"

   `umask 077` makes every file you create from now on readable by you alone.
   If `ls` says "No such file", you are not in the vault folder: `cd` into
   it and paste the block again.

   The work folder is in your computer's temporary folder, which no cloud
   service synchronises. It needs room for all your photos (`df -h "$work"`
   shows the free space). If it is too small, use a disk that is NOT synced
   to iCloud Drive, Dropbox, OneDrive, Google Drive or the like: in the block
   above, replace  mktemp -d  by  mktemp -d /path/to/that/disk/restore.XXXXXX


2. Recover the vault key into the work folder, in one of two ways.

   With your passphrase (age asks for it; if the vault has several
   passphrases, age asks once per key file until one opens):

     for k in "$vault"/keys/*.age; do
       age -d -o "$work/vault-key.txt" "$k" && break
     done

   Or with the recovery key written on paper: paste this command, type the
   key as one line (AGE-SECRET-KEY-1...), press Enter, then Ctrl-D:

     cat > "$work/vault-key.txt"

   Whichever way you chose, check that the key is this vault's (age-keygen
   comes with age):

     mine="$(age-keygen -y "$work/vault-key.txt")"
     expected="$(jq -r .recipient "$vault/companion-vault.json")"
     if [ -n "$mine" ] && [ "$mine" = "$expected" ]; then
       echo "Key OK: it is this vault's key."
     else
       echo "STOP: this is not this vault's key. Do step 2 again."
     fi

   Whoever has this key file can open every photo: it stays in the work
   folder, which you delete at step 6.


3. Decrypt the catalogue (the list of your files) and check it. Anyone can
   encrypt a file for this vault (its public key is in companion-vault.json),
   so each catalogue segment carries a seal (a MAC) that only your vault key
   can make. This block prints OK or BAD for each segment and stops at the
   first BAD one; segments are numbered 00000001.age, 00000002.age, ... and
   a missing number means a lost segment (also BAD):

     secret="$(grep -o 'AGE-SECRET-KEY-1[0-9A-Z]*' "$work/vault-key.txt" | head -n 1)"
     hashed="$(printf %s "$secret" | sha256sum | cut -d ' ' -f 1)"
     unset secret
     mackey="$(printf %s companion/v1/catalogue-mac |
       openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hashed" | awk '{print $NF}')"
     rm -f "$work/catalogue.jsonl" "$work/catalogue.part"
     n=0
     bad=""
     for f in "$vault"/catalogue/*.age; do
       n=$((n + 1))
       name="$(basename -- "$f")"
       expected="$(printf '%08d.age' "$n")"
       if [ "$name" != "$expected" ]; then
         echo "BAD $expected is missing"; bad=yes; break
       fi
       if ! age -d -i "$work/vault-key.txt" "$f" > "$work/segment"; then
         echo "BAD $name cannot be decrypted (it is damaged)"; bad=yes; break
       fi
       mac="$(head -n 1 "$work/segment" |
         jq -r 'select(.t == "segment" and .format == 1) | .mac')"
       real="$({ echo "$name"; tail -n +2 "$work/segment"; } |
         openssl dgst -sha256 -mac HMAC -macopt "hexkey:$mackey" | awk '{print $NF}')"
       if [ "$mac" != "$real" ]; then
         echo "BAD $name was not written with your vault key"; bad=yes; break
       fi
       echo "OK  $name"
       tail -n +2 "$work/segment" >> "$work/catalogue.part"
     done
     rm -f "$work/segment"
     if [ -z "$bad" ]; then
       mv "$work/catalogue.part" "$work/catalogue.jsonl"
       echo "The catalogue is complete: every segment is OK."
     else
       rm -f "$work/catalogue.part"
     fi

   If a line says BAD, stop: the vault was damaged, or someone changed or
   added a file in catalogue/. Use another copy of the vault if you have
   one, or run `companion verify --full` on this one.


4. (Optional) See which files the catalogue lists (press q to leave):

     jq -r 'select(.t == "asset") | .path' "$work/catalogue.jsonl" | sort -u | less

   Each line of the catalogue is a JSON object. Lines with "t":"asset"
   describe one file: "path" (where it was on the phone or in the folder),
   "captured_at", "sha256" (fingerprint of the original) and "object" (its
   encrypted copy, objects/<first 2 characters of object>/<object>). A later
   line for the same "path" is a newer version of that file. Lines with
   "t":"place" hold the private places you declared.


5. Decrypt everything into the folder "restored" in the work folder. Each
   file is checked against its fingerprint in the catalogue and kept only if
   it matches; the others are listed at the end. Only the newest version of
   each path is restored, and nothing already there is replaced. To restore
   only some files, put part of their path between the quotes of only=""
   (for example only="2023" or only="IMG_0042").

     only=""
     mkdir -p "$work/restored"
     rm -f "$work/problems.txt"
     jq -r -s --arg only "$only" '
         map(select(.t == "asset")) | reduce .[] as $r ({}; .[$r.path] = $r) | .[]
         | select(.path | contains($only))
         | .object + "\t" + .sha256 + "\t" + (.path | gsub("[\t\n\r]"; "_"))
       ' "$work/catalogue.jsonl" |
     while IFS="$(printf '\t')" read -r obj sha path; do
       out="$work/restored/$path"
       case "/$path/" in
         //* | */../*)
           echo "REFUSED (unsafe name): $path" >> "$work/problems.txt"; continue ;;
       esac
       if [ -e "$out" ]; then
         echo "NOT REPLACED (already there): $path" >> "$work/problems.txt"; continue
       fi
       rm -f "$work/incoming"
       file="$vault/objects/$(printf %.2s "$obj")/$obj"
       if age -d -i "$work/vault-key.txt" -o "$work/incoming" "$file" &&
          [ "$(sha256sum < "$work/incoming" | cut -d ' ' -f 1)" = "$sha" ]; then
         mkdir -p "$(dirname -- "$out")"
         mv "$work/incoming" "$out" && echo "OK   $path"
       else
         echo "BAD (wrong content, not kept): $path" >> "$work/problems.txt"
       fi
     done
     rm -f "$work/incoming"
     echo "Restored $(find "$work/restored" -type f | wc -l) files into $work/restored"
     if [ -s "$work/problems.txt" ]; then
       echo "NOT restored:"; cat "$work/problems.txt"
     fi


6. Move your photos to where you keep them (a disk no cloud service
   synchronises, unless you want them there), then delete the work folder,
   which still holds your vault key and the catalogue:

     mv "$work/restored" "$HOME/restored-photos" && cd "$HOME" && rm -rf "$work"

   If "$HOME/restored-photos" already exists, the restored folder goes
   inside it. If you stopped before step 5, delete the work folder with:

     cd "$HOME" && rm -rf "$work"

   Then type  exit  (or close the terminal). The restored files are readable
   by you alone; `chmod -R go+rX "$HOME/restored-photos"` shares them with
   the other accounts of this computer.


DETAILS, for the technically minded
- Segments: catalogue/00000001.age, 00000002.age, ... with no gap. Each
  plaintext starts with a header line {"t":"segment","format":1,"mac":HEX};
  the rest is one JSON record per line, later lines winning.
  HEX = HMAC-SHA256(K, NAME + "\n" + REST), where NAME is the segment's file
  name, REST the bytes after the header line, and
  K = HMAC-SHA256(key = the AGE-SECRET-KEY-1... line as ASCII,
                  message = "companion/v1/catalogue-mac").
  HMAC first hashes a key longer than 64 bytes (this one has 74) with
  SHA-256; step 3 does that with sha256sum, so that the secret key never
  appears on a command line.
- The MAC cannot show that the newest segments were deleted: only a copy of
  the vault kept elsewhere can.
- Tabs and line breaks in a path become "_"; this recipe does not set the
  files' dates (companion restore does, from "captured_at").
- On a Mac without sha256sum, use  shasum -a 256  in its place.
- The format is specified in docs/design/vault-format.md in companion's source.
"""
