/** A JSON-schema subset with PVE's extensions, enough to validate API parameters like PVE does. */
export type SchemaType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'null';

/** A property-string format: keys of a comma list like `virtio=BC:..,bridge=vmbr0`. */
export type PropertyFormat = Readonly<Record<string, PropSchema>>;

export interface PropSchema {
  readonly type?: SchemaType;
  readonly optional?: boolean;
  /** A registered format name (`pve-vmid`, `dns-name`, `pve-tag-list`) or a property-string format. */
  readonly format?: string | PropertyFormat;
  /** Must match the whole value. */
  readonly pattern?: RegExp;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxLength?: number;
  readonly minLength?: number;
  /** Name of a sibling parameter that must be present when this one is. */
  readonly requires?: string;
  readonly default?: string | number;
  readonly items?: PropSchema;
  /** Property strings: the key a bare value belongs to. */
  readonly defaultKey?: boolean;
  /** Property strings: this key is another name for `alias`. */
  readonly alias?: string;
  /** Property strings: `virtio=MAC` means model=virtio plus macaddr=MAC. */
  readonly keyAlias?: string;
}

export type ObjectSchema = Readonly<Record<string, PropSchema>>;
