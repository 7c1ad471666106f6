"""The plaintext RESTORE.txt written into every vault. Keep it in step with vault-format.md."""

RESTORE_TEXT = """\
COMPANION VAULT - HOW TO GET YOUR PHOTOS BACK WITHOUT COMPANION
===============================================================

This folder holds encrypted copies of photos and videos made by companion
(vault format 1). Every file in it is a standard "age" file, so you can get
everything back with the free `age` tool alone (https://age-encryption.org,
package "age" on Debian, Ubuntu, Fedora, Homebrew...). You need either your
vault passphrase or the recovery key printed by `companion key export`.

With companion installed, simply run:   companion restore --to SOME_FOLDER

Without companion, in a terminal opened in this folder:

1. Recover the vault key (asks for your passphrase; any file in keys/ works
   with the passphrase that created it):

     age -d -o vault-key.txt keys/<one of the files>.age

   Or, with a recovery key on paper, type it into a file vault-key.txt as one
   line:  AGE-SECRET-KEY-1...   Keep vault-key.txt private; delete it after.

2. Decrypt the catalogue (the list of your files):

     for f in catalogue/*.age; do age -d -i vault-key.txt "$f"; done > catalogue.jsonl

   Each line is a JSON object (the first line of each segment is a header).
   Lines with "t":"asset" describe one file:
   "path" (where it was on the phone or in the folder), "captured_at",
   "sha256" (fingerprint of the original) and "object" (the encrypted copy,
   stored as objects/<first 2 characters of object>/<object>). A later line
   for the same "path" supersedes an earlier one.

3. Decrypt one file:

     age -d -i vault-key.txt -o IMG_0001.HEIC objects/ab/ab12...

   and check it:  sha256sum IMG_0001.HEIC   must print the "sha256" value.

4. Decrypt everything (needs the `jq` tool) into a folder named restored:

     mkdir -p restored
     jq -r 'select(.t == "asset") | [.object, .sha256, .path] | @tsv' catalogue.jsonl |
     while IFS="$(printf '\\t')" read -r obj sha path; do
       name="$(basename -- "$path")"
       age -d -i vault-key.txt -o "restored/${sha}-${name}" "objects/$(printf %.2s "$obj")/$obj"
     done

Do not edit, rename or delete files in this folder by hand: companion checks
every object against its catalogue, and files here are written once.
"""
