/**
 * Keys, aliases and key states of the local KMS endpoint, the resolution
 * of the four key id forms, and the optional state file.
 *
 * The state file is for testing only: it contains PRIVATE key material
 * in plain JSON (mode 0600).
 *
 * @module
 */

import { dirname, join } from "node:path";
import { KmsToolkitError } from "../errors.ts";
import {
  type KeyMaterial,
  materialFromJson,
  materialToJson,
} from "./key_material.ts";
import { KmsError } from "./protocol.ts";

/** The states that keys of this endpoint can be in. */
export type KeyState = "Enabled" | "Disabled" | "PendingDeletion";

/** One key. */
export interface KeyRecord {
  /** The key id: a UUID, or `mrk-` and 32 hex digits. */
  keyId: string;
  /** The key ARN. */
  arn: string;
  /** The `KeySpec`. */
  keySpec: string;
  /** The `KeyUsage`. */
  keyUsage: string;
  /** The `Description`. */
  description: string;
  /** Creation time, epoch milliseconds. */
  creationDate: number;
  /** The key state. */
  state: KeyState;
  /** When the key is deleted, epoch milliseconds, while pending deletion. */
  deletionDate?: number;
  /** The waiting period, while pending deletion. */
  pendingWindowInDays?: number;
  /** Whether the key is a multi-Region primary key. */
  multiRegion: boolean;
  /** The tags given at creation. */
  tags: { TagKey: string; TagValue: string }[];
  /** The key material, private parts included. */
  material: KeyMaterial;
}

/** One alias. */
export interface AliasRecord {
  /** The alias name, `alias/...`. */
  aliasName: string;
  /** The key id it points to. */
  targetKeyId: string;
  /** Creation time, epoch milliseconds. */
  creationDate: number;
  /** Last update time, epoch milliseconds. */
  lastUpdatedDate: number;
}

/** Options of {@linkcode KeyStore.open}. */
export interface KeyStoreOptions {
  /** The region of ARNs. */
  region: string;
  /** The account of ARNs. */
  accountId: string;
  /**
   * The JSON state file to load and save.
   * @default {undefined} keep keys in memory only
   */
  statePath?: string;
}

/** Options of {@linkcode KeyStore.resolve}. */
export interface ResolveOptions {
  /**
   * Whether alias names and alias ARNs are accepted.
   * @default {true}
   */
  allowAlias?: boolean;
}

const KEY_ID =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ARN = /^arn:aws:kms:([^:]+):([^:]+):(key|alias)\/(.+)$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The keys and aliases of one endpoint, saved to the state file after
 * every change when it has one.
 *
 * @example
 * ```ts
 * import { KeyStore } from "./key_store.ts";
 * import { generateKeyMaterial } from "./key_material.ts";
 * import assert from "node:assert/strict";
 *
 * const store = await KeyStore.open({ region: "us-east-1", accountId: "111122223333" });
 * const key = await store.addKey({
 *   keySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY", description: "",
 *   multiRegion: false, tags: [], material: await generateKeyMaterial("ECC_NIST_P256"),
 * });
 * await store.createAlias("alias/test", key.keyId);
 * assert.equal(store.resolve("alias/test").keyId, key.keyId);
 * ```
 */
export class KeyStore {
  /** The region of ARNs. */
  readonly region: string;
  /** The account of ARNs. */
  readonly accountId: string;
  readonly #statePath?: string;
  readonly #keys = new Map<string, KeyRecord>();
  readonly #aliases = new Map<string, AliasRecord>();
  #saving: Promise<void> = Promise.resolve();
  #stateFound = false;

  private constructor(options: KeyStoreOptions) {
    this.region = options.region;
    this.accountId = options.accountId;
    this.#statePath = options.statePath;
  }

  /**
   * Opens a store. With a state file, first checks that its folder takes
   * new files (by writing and removing a probe file), then loads the
   * file if it exists.
   *
   * @param options The region, account and state file.
   * @returns The store.
   * @throws {KmsToolkitError} `IO_FAILED` when the state file's folder is
   * missing or not writable, or the file is not a state file of this
   * endpoint.
   * @throws {Error} When the state file cannot be read, is not JSON or
   * contains inconsistent key material.
   */
  static async open(options: KeyStoreOptions): Promise<KeyStore> {
    const store = new KeyStore(options);
    if (options.statePath) {
      await probeFolder(options.statePath);
      await store.#load(options.statePath);
    }
    return store;
  }

  /** Whether a state file existed and was loaded when the store opened. */
  get stateFound(): boolean {
    return this.#stateFound;
  }

  /**
   * Builds the ARN of a key or alias.
   *
   * @param kind `key` or `alias`.
   * @param name The key id, or the alias name without `alias/`.
   * @returns The ARN.
   */
  arnOf(kind: "key" | "alias", name: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:${kind}/${name}`;
  }

  /** Lists all keys, in creation order. */
  keys(): KeyRecord[] {
    this.#purge();
    return [...this.#keys.values()];
  }

  /** Lists all aliases, sorted by name. */
  aliases(): AliasRecord[] {
    this.#purge();
    return [...this.#aliases.values()].sort((a, b) =>
      a.aliasName < b.aliasName ? -1 : 1
    );
  }

  /**
   * Finds a key by key id, key ARN, alias name or alias ARN.
   *
   * @param reference The `KeyId` member.
   * @param options Whether aliases are accepted.
   * @returns The key.
   * @throws {KmsError} `NotFoundException` when nothing matches, the ARN
   * names another region or account, or the id is malformed.
   */
  resolve(reference: string, options: ResolveOptions = {}): KeyRecord {
    this.#purge();
    const allowAlias = options.allowAlias ?? true;
    const arn = ARN.exec(reference);
    if (arn) {
      const [, region, account, kind, name] = arn as unknown as string[];
      if (region !== this.region || account !== this.accountId) {
        throw this.#missing(reference);
      }
      if (kind === "alias") {
        if (!allowAlias) throw invalidKeyId(reference);
        return this.#byAlias(`alias/${name}`, reference);
      }
      return this.#byId(name!, reference);
    }
    if (reference.startsWith("alias/")) {
      if (!allowAlias) throw invalidKeyId(reference);
      return this.#byAlias(reference, this.arnOf("alias", reference.slice(6)));
    }
    return this.#byId(reference, reference);
  }

  #byId(keyId: string, reference: string): KeyRecord {
    if (!KEY_ID.test(keyId)) throw invalidKeyId(reference);
    const key = this.#keys.get(keyId);
    if (!key) throw this.#missing(this.arnOf("key", keyId));
    return key;
  }

  #byAlias(aliasName: string, reference: string): KeyRecord {
    const alias = this.#aliases.get(aliasName);
    const key = alias && this.#keys.get(alias.targetKeyId);
    if (!key) {
      throw new KmsError(
        "NotFoundException",
        `Alias ${reference} is not found.`,
      );
    }
    return key;
  }

  #missing(arn: string): KmsError {
    return new KmsError("NotFoundException", `Key '${arn}' does not exist`);
  }

  /**
   * Adds a new Enabled key with a fresh key id.
   *
   * @param fields The key's spec, usage, description, tags and material.
   * @returns The new key.
   * @throws {KmsToolkitError} `IO_FAILED` when the state file cannot be
   * written.
   */
  async addKey(
    fields: Pick<
      KeyRecord,
      | "keySpec"
      | "keyUsage"
      | "description"
      | "multiRegion"
      | "tags"
      | "material"
    >,
  ): Promise<KeyRecord> {
    const keyId = fields.multiRegion
      ? `mrk-${crypto.randomUUID().replaceAll("-", "")}`
      : crypto.randomUUID();
    const key: KeyRecord = {
      ...fields,
      keyId,
      arn: this.arnOf("key", keyId),
      creationDate: Date.now(),
      state: "Enabled",
    };
    this.#keys.set(keyId, key);
    await this.save();
    return key;
  }

  /**
   * Points a new alias at a key.
   *
   * @param aliasName The alias name, checked by the caller.
   * @param targetKeyId The key id.
   * @throws {KmsError} `AlreadyExistsException` when the alias exists.
   */
  async createAlias(aliasName: string, targetKeyId: string): Promise<void> {
    this.#purge();
    if (this.#aliases.has(aliasName)) {
      throw new KmsError(
        "AlreadyExistsException",
        `An alias with the name ${
          this.arnOf("alias", aliasName.slice(6))
        } already exists`,
      );
    }
    const now = Date.now();
    this.#aliases.set(aliasName, {
      aliasName,
      targetKeyId,
      creationDate: now,
      lastUpdatedDate: now,
    });
    await this.save();
  }

  /**
   * Deletes an alias.
   *
   * @param aliasName The alias name.
   * @throws {KmsError} `NotFoundException` when it does not exist.
   */
  async deleteAlias(aliasName: string): Promise<void> {
    this.#purge();
    if (!this.#aliases.delete(aliasName)) {
      throw new KmsError(
        "NotFoundException",
        `Alias ${this.arnOf("alias", aliasName.slice(6))} is not found.`,
      );
    }
    await this.save();
  }

  /**
   * Changes a key's state and saves.
   *
   * @param key The key.
   * @param state The new state.
   * @param pendingWindowInDays The waiting period, for PendingDeletion.
   */
  async setState(
    key: KeyRecord,
    state: KeyState,
    pendingWindowInDays?: number,
  ): Promise<void> {
    key.state = state;
    if (state === "PendingDeletion" && pendingWindowInDays !== undefined) {
      key.pendingWindowInDays = pendingWindowInDays;
      key.deletionDate = Date.now() + pendingWindowInDays * DAY_MS;
    } else {
      delete key.pendingWindowInDays;
      delete key.deletionDate;
    }
    await this.save();
  }

  // Deletes keys whose waiting period is over, with their aliases.
  #purge(): void {
    const now = Date.now();
    let changed = false;
    for (const [keyId, key] of this.#keys) {
      if (key.deletionDate !== undefined && key.deletionDate <= now) {
        this.#keys.delete(keyId);
        changed = true;
      }
    }
    for (const [name, alias] of this.#aliases) {
      if (!this.#keys.has(alias.targetKeyId)) {
        this.#aliases.delete(name);
        changed = true;
      }
    }
    if (changed) this.save().catch(() => {});
  }

  /**
   * Writes the state file, if any, atomically: a temporary file with mode
   * 0600 in the same folder, then a rename over the old one.
   *
   * @throws {KmsToolkitError} `IO_FAILED` when the file cannot be written.
   */
  save(): Promise<void> {
    // One write at a time, each with the state as it is when it starts.
    const run = this.#saving.then(() => this.#write());
    this.#saving = run.catch(() => {});
    return run;
  }

  /**
   * Waits for the state file writes that have started, such as the one
   * after deleting keys past their deletion date. It drops their errors,
   * because the save of each change reports its own.
   *
   * @returns A promise that settles when no write is running.
   */
  settled(): Promise<void> {
    return this.#saving;
  }

  async #write(): Promise<void> {
    const path = this.#statePath;
    if (!path) return;
    const state = {
      format: "local-kms-state",
      version: 1,
      warning: "TESTING ONLY: this file contains PRIVATE key material.",
      region: this.region,
      accountId: this.accountId,
      keys: [...this.#keys.values()].map((key) => ({
        ...key,
        material: materialToJson(key.material),
      })),
      aliases: [...this.#aliases.values()],
    };
    const temp = join(
      dirname(path),
      `.${crypto.randomUUID()}.tmp`,
    );
    try {
      await Deno.writeTextFile(temp, JSON.stringify(state, null, 2) + "\n", {
        mode: 0o600,
        createNew: true,
      });
      await Deno.chmod(temp, 0o600);
      await Deno.rename(temp, path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw new KmsToolkitError(
        "IO_FAILED",
        `Cannot write state file '${path}': ${
          error instanceof Error ? error.message : String(error)
        }. Allow reading and writing its folder, or pick another path.`,
        { cause: error },
      );
    }
  }

  async #load(path: string): Promise<void> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    const state = JSON.parse(text);
    if (state?.format !== "local-kms-state" || state.version !== 1) {
      throw new KmsToolkitError(
        "IO_FAILED",
        `Cannot load state file '${path}': it is not a local KMS state file. ` +
          "Pass another path, or delete the file.",
      );
    }
    for (const raw of state.keys ?? []) {
      const keyId = String(raw.keyId);
      this.#keys.set(keyId, {
        keyId,
        arn: this.arnOf("key", keyId),
        keySpec: raw.keySpec,
        keyUsage: raw.keyUsage,
        description: raw.description ?? "",
        creationDate: raw.creationDate,
        state: raw.state,
        ...(raw.deletionDate !== undefined
          ? {
            deletionDate: raw.deletionDate,
            pendingWindowInDays: raw.pendingWindowInDays,
          }
          : {}),
        multiRegion: raw.multiRegion === true,
        tags: raw.tags ?? [],
        material: materialFromJson(raw.material),
      });
    }
    for (const raw of state.aliases ?? []) {
      this.#aliases.set(raw.aliasName, raw);
    }
    this.#stateFound = true;
  }
}

// Writes and removes an empty file next to the state file, so that a
// missing or read-only folder fails at start rather than at the first save.
async function probeFolder(path: string): Promise<void> {
  const folder = dirname(path);
  const probe = join(folder, `.${crypto.randomUUID()}.probe`);
  try {
    await Deno.writeTextFile(probe, "", { mode: 0o600, createNew: true });
    await Deno.remove(probe);
  } catch (error) {
    await Deno.remove(probe).catch(() => {});
    const [reason, next] = error instanceof Deno.errors.NotFound
      ? [
        `its folder '${folder}' does not exist`,
        "Create the folder, or pick another path.",
      ]
      : error instanceof Deno.errors.NotADirectory
      ? [`'${folder}' is not a folder`, "Pick another path."]
      : [
        `cannot write in its folder '${folder}': ${
          error instanceof Error ? error.message : String(error)
        }`,
        "Allow writing there, or pick another path.",
      ];
    throw new KmsToolkitError(
      "IO_FAILED",
      `Cannot use state file '${path}': ${reason}. ${next}`,
      { cause: error },
    );
  }
}

function invalidKeyId(reference: string): KmsError {
  return new KmsError("NotFoundException", `Invalid keyId '${reference}'`);
}
